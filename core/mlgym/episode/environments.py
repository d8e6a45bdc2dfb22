"""Task Python environments: a virtual environment per distinct requirement list, built once.

Every task runs its starter code and its evaluator with a Python that the sandbox's users can
read. The interpreter of the MLGym process itself often cannot serve (a pyenv under ``/root`` is
not traversable by other uids), so environments are made from a system interpreter:
``MLGYM_PYTHON`` if set, else the first of ``/usr/bin/python3`` and ``/usr/local/bin/python3``.

An environment is ``python3 -m venv --system-site-packages`` plus ``pip install`` of the task's
``environment.requirements``, stored under ``mlgym.locations.environments_dir()/<key>`` where the
key hashes the interpreter and the requirements, so tasks with equal requirements share one
build. A ``.mlgym-env.json`` marker written last says the build completed; a folder without it
is rebuilt. Files are world-readable and nothing in it is writable by the agent.

System site-packages are visible so that ``pip install`` by the agent works the way a
researcher expects: the environment itself is read-only in the sandbox, so pip falls back to a
*user* install, which lands in ``$PYTHONUSERBASE`` (set by the environment to a folder inside
the agent's workspace) and is importable at once. Evaluators run with ``PYTHONNOUSERSITE=1`` so
packages the agent installs can never shadow the ones the evaluator imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from filelock import FileLock

from mlgym.errors import ConfigError, MLGymError
from mlgym.locations import ensure, environments_dir

MARKER = ".mlgym-env.json"
FORMAT = 1  # bump when the layout of an environment changes
_CANDIDATES = ("/usr/bin/python3", "/usr/local/bin/python3")


class EnvironmentBuildError(MLGymError, RuntimeError):
    """A task's Python environment could not be built; the message has pip's own words."""


def _readable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can execute ``path`` (every folder above it too)."""
    real = path.resolve()
    if not real.is_file() or not os.stat(real).st_mode & 0o001:
        return False
    return all(os.stat(parent).st_mode & 0o001 for parent in real.parents)


def base_python() -> Path:
    """The interpreter environments are built from; it must be usable by the sandbox users."""
    configured = os.environ.get("MLGYM_PYTHON")
    candidates = [configured] if configured else list(_CANDIDATES)
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and _readable_by_others(path):
            return path
    if configured:
        raise ConfigError(f"MLGYM_PYTHON={configured!r} is not an interpreter that every user "
                          "can run (the sandbox's users are not its owner); point it at a "
                          "system python3 such as /usr/bin/python3")
    raise ConfigError("no system Python 3 found for task environments (looked at "
                      f"{', '.join(_CANDIDATES)}); install one with `apt-get install python3 "
                      "python3-venv`, or set MLGYM_PYTHON to a python3 every user can run")


def environment_key(requirements: Sequence[str], python: Path) -> str:
    """A short content hash of what goes into an environment."""
    payload = {"format": FORMAT, "python": str(python.resolve()),
               "requirements": [r.strip() for r in requirements if r.strip()]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def ensure_environment(requirements: Sequence[str] = (), *, python: Path | None = None,
                       root: Path | None = None) -> Path:
    """Return the folder of a virtual environment with ``requirements`` installed.

    Builds it on first use (``venv`` plus ``pip install``) and returns the cached one after.
    Raises :class:`EnvironmentBuildError` with pip's output when the build fails.
    """
    python = python or base_python()
    root = ensure(root or environments_dir())
    os.chmod(root, 0o755)
    key = environment_key(requirements, python)
    folder = root / key
    if (folder / MARKER).is_file():
        return folder
    with FileLock(str(root / f"{key}.lock")):
        if (folder / MARKER).is_file():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        started = time.monotonic()
        try:
            _build(folder, python, [r.strip() for r in requirements if r.strip()])
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        marker = {"requirements": list(requirements), "python": str(python),
                  "build_seconds": round(time.monotonic() - started, 1)}
        (folder / MARKER).write_text(json.dumps(marker, indent=1))
        os.chmod(folder / MARKER, 0o644)
    return folder


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise EnvironmentBuildError(f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n"
                                    f"{tail}")


def _build(folder: Path, python: Path, requirements: list[str]) -> None:
    _run([str(python), "-m", "venv", "--system-site-packages", str(folder)],
         f"creating the virtual environment {folder} (is python3-venv installed?)")
    if requirements:
        listing = folder / "requirements.txt"
        listing.write_text("\n".join(requirements) + "\n")
        _run([str(folder / "bin" / "python"), "-m", "pip", "install", "--no-input",
              "--disable-pip-version-check", "-r", str(listing)],
             "installing the task requirements (check environment.requirements in task.yaml)")
    _make_world_readable(folder)


def _make_world_readable(folder: Path) -> None:
    for base, dirs, files in os.walk(folder):
        for name in dirs:
            path = Path(base) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o555)
        for name in files:
            path = Path(base) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444)
    folder.chmod(0o755)


def environment_vars(env_dir: str, user_base: str | None) -> dict[str, str]:
    """Variables that make the environment at ``env_dir`` (a path inside the sandbox) the
    agent's Python; ``user_base`` is where ``pip install`` puts the agent's own packages."""
    out = {"VIRTUAL_ENV": env_dir, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if user_base:
        out["PYTHONUSERBASE"] = user_base
    return out


if __name__ == "__main__":  # pragma: no cover - manual use: build an environment, print its path
    print(ensure_environment(sys.argv[1:]))
