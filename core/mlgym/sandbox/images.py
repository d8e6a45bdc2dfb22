"""Container images for the ``docker`` backend, built locally and offline.

Nothing is pulled from a registry. The **base image** is a minimal Debian made with
``debootstrap --variant=minbase`` (bash, Python 3 with ``venv`` and ``python`` naming it, procps), with the agent,
evaluator and player users of :mod:`mlgym.sandbox.identity` added, imported with ``docker import``.
A **task image** is the base plus a virtual environment at ``/opt/venv`` (first on ``PATH``,
made even for a task without requirements) holding the task's requirements, installed with
``pip install --no-index`` from wheels that ``pip download`` fetched on the host (pip inside a
container may not reach an index). The environment sees the system site-packages, which also
enables the user site: the agent's own ``pip install`` falls back to a *user* install into
``$PYTHONUSERBASE``, since ``/opt/venv`` is read-only. Each image is tagged by a hash of what
went into it, so it is built once and found again.

Command line::

    python -m mlgym.sandbox.images base                 # build (or find) the base image
    python -m mlgym.sandbox.images task numpy==2.1.3    # a task image from requirements
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlgym.errors import SandboxError
from mlgym.sandbox import identity

log = logging.getLogger(__name__)

BASE_REPOSITORY = "mlgym-base"
TASK_REPOSITORY = "mlgym-task"
VENV = "/opt/venv"
BASE_RECIPE: dict[str, Any] = {
    "suite": "bookworm",
    "variant": "minbase",
    "include": ["python3", "python3-venv", "python-is-python3", "procps"],
    "recipe_version": 1,
}
_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _mirror() -> str:
    import os

    return os.environ.get("MLGYM_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def base_image_tag() -> str:
    """The tag the base image has (or will have) for the current recipe and uids."""
    users = [i.passwd_line() for i in (identity.agent(), identity.evaluator(), identity.player())]
    return f"{BASE_REPOSITORY}:{_hash({'recipe': BASE_RECIPE, 'users': users})}"


def _client(client=None):
    if client is not None:
        return client
    import docker

    return docker.from_env()


def image_exists(tag: str, client=None) -> bool:
    """Whether ``tag`` is present in the local docker engine."""
    import docker

    try:
        _client(client).images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def _lock(name: str):
    from filelock import FileLock

    from mlgym.locations import cache_dir, ensure

    return FileLock(str(ensure(cache_dir() / "images") / f"{name}.lock"))


def ensure_base_image(client=None) -> str:
    """Return the base image's tag, building it first if the engine does not have it."""
    tag = base_image_tag()
    client = _client(client)
    if image_exists(tag, client):
        return tag
    with _lock("base"):
        if image_exists(tag, client):
            return tag
        if shutil.which("debootstrap") is None:
            raise SandboxError(f"the docker base image {tag} is missing and debootstrap is not "
                               "installed: run `apt-get install debootstrap`, then "
                               "`python -m mlgym.sandbox.images base`")
        log.warning("building docker base image %s with debootstrap (about a minute, once)", tag)
        with tempfile.TemporaryDirectory(prefix="mlgym-rootfs-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            _debootstrap(rootfs)
            _add_users(rootfs)
            tarball = Path(tmp) / "rootfs.tar"
            subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(tarball), "."],
                           check=True)
            repo, _, version = tag.partition(":")
            client.api.import_image_from_file(
                str(tarball), repository=repo, tag=version,
                changes=[f"ENV PATH={_PATH}", "ENV LANG=C.UTF-8",
                         f"WORKDIR {identity.AGENT_HOME}",
                         "LABEL mlgym.image=base"])
        if not image_exists(tag, client):
            raise SandboxError(f"docker import did not produce {tag}; see the dockerd log")
        return tag


def _debootstrap(rootfs: Path) -> None:
    argv = ["debootstrap", f"--variant={BASE_RECIPE['variant']}",
            f"--include={','.join(BASE_RECIPE['include'])}", BASE_RECIPE["suite"], str(rootfs),
            _mirror()]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise SandboxError(f"debootstrap failed (exit {proc.returncode}) with mirror {_mirror()}; "
                           f"set MLGYM_DEBIAN_MIRROR to a reachable Debian mirror.\n{tail}")
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / junk).glob("*"):
            if path.is_file():
                path.unlink()


def _add_users(rootfs: Path) -> None:
    etc = rootfs / "etc"
    passwd, group = identity.passwd_with_sandbox_users((etc / "passwd").read_text(),
                                                       (etc / "group").read_text())
    (etc / "passwd").write_text(passwd)
    (etc / "group").write_text(group)
    agent = identity.agent()
    home = rootfs / agent.home.lstrip("/")
    (home / "workspace").mkdir(parents=True, exist_ok=True)
    identity.chown_tree(home, agent.uid, agent.gid)


TASK_RECIPE_VERSION = 2  # bump when the Dockerfile below changes


def task_image_tag(requirements: list[str], base: str) -> str:
    """The tag the task image for ``requirements`` on ``base`` has (or will have)."""
    recipe = {"base": base, "requirements": sorted(requirements),
              "recipe_version": TASK_RECIPE_VERSION}
    return f"{TASK_REPOSITORY}:{_hash(recipe)}"


def ensure_task_image(requirements: list[str], client=None, base: str | None = None) -> str:
    """Return the tag of an image with ``requirements`` installed in ``/opt/venv`` (on ``PATH``),
    building it once; with no requirements the environment holds pip alone. Wheels are
    downloaded on the host; the build itself has no network."""
    client = _client(client)
    base = base or ensure_base_image(client)
    tag = task_image_tag(requirements, base)
    if image_exists(tag, client):
        return tag
    with _lock("task-" + tag.partition(":")[2]):
        if image_exists(tag, client):
            return tag
        with tempfile.TemporaryDirectory(prefix="mlgym-image-") as tmp:
            context = Path(tmp)
            wheels = context / "wheels"
            wheels.mkdir()
            (wheels / "requirements.txt").write_text("".join(r + "\n" for r in requirements))
            if requirements:
                _download_wheels(wheels)
            (context / "Dockerfile").write_text(_task_dockerfile(base))
            _build(client, context, tag)
        return tag


def _download_wheels(wheels: Path) -> None:
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
            "--python-version", "3.11", "--implementation", "cp",
            "--dest", str(wheels), "-r", str(wheels / "requirements.txt")]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-10:])
        raise SandboxError("pip download of the task requirements failed; every requirement "
                           f"needs a wheel for CPython 3.11 on this platform.\n{tail}")


def _task_dockerfile(base: str) -> str:
    return (f"FROM {base} AS build\n"
            "LABEL mlgym.stage=build\n"
            "COPY wheels /tmp/wheels\n"
            f"RUN python3 -m venv --system-site-packages {VENV} && {VENV}/bin/pip install "
            "--no-index --no-cache-dir --disable-pip-version-check --find-links /tmp/wheels "
            "-r /tmp/wheels/requirements.txt\n"
            f"FROM {base}\n"
            f"COPY --from=build {VENV} {VENV}\n"
            f"ENV VIRTUAL_ENV={VENV} PATH={VENV}/bin:{_PATH}\n")


def _build(client, context: Path, tag: str) -> None:
    import docker

    try:
        client.images.build(path=str(context), tag=tag, network_mode="none", rm=True,
                            forcerm=True, labels={"mlgym.image": "task"})
        client.images.prune(filters={"dangling": True, "label": "mlgym.stage=build"})
    except docker.errors.BuildError as exc:
        lines = [c.get("stream", c.get("error", "")) for c in exc.build_log]
        tail = "".join(lines)[-2000:]
        raise SandboxError(f"building {tag} failed: {exc.msg}\n{tail}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlgym.sandbox.images",
                                     description="Build MLGym's docker images offline.")
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("base", help="build (or find) the base image and print its tag")
    p = sub.add_parser("task", help="build (or find) a task image and print its tag")
    p.add_argument("requirements", nargs="*", help="pip requirement specifiers")
    p.add_argument("-r", "--requirements-file", type=Path, help="a requirements.txt")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.what == "base":
        print(ensure_base_image())
        return 0
    reqs = list(args.requirements)
    if args.requirements_file:
        reqs += [line.strip() for line in args.requirements_file.read_text().splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
    print(ensure_task_image(reqs))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
