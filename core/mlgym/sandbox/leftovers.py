"""What a dead MLGym process left behind: episode folders, mounted disks and tmpfs, player links,
and docker containers.

A Python process that dies without closing its environment (an exception in the user's script, a
``kill -9``) leaves its episode folder, the workspace's loop-mounted disk image and the sandbox's
tmpfs mounted. Every such folder is *claimed* when it is made (:func:`claim`): a file
``.mlgym-owner`` in it holds the pid and start time of the process that made it.
:func:`sweep`, run when an environment starts and by ``mlgym doctor --clean``, finds the claimed
folders under the temporary directory whose owner is gone (a zombie counts as gone), kills the
processes still working inside them (a ``local`` sandbox's shell outlives its owner), unmounts
everything mounted inside them (deepest first, lazily) and removes them. A folder whose owner is
alive is never touched, and neither is one without a claim.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mlgym.sandbox import procs

log = logging.getLogger(__name__)

OWNER_FILE = ".mlgym-owner"
PREFIX = "mlgym-"


def claim(folder: Path) -> None:
    """Mark ``folder`` as this process's, so that :func:`sweep` removes it once it is gone."""
    marker = folder / OWNER_FILE
    marker.write_text(procs.owner_tag() + "\n")
    marker.chmod(0o644)


def owner_alive(folder: Path) -> bool | None:
    """Whether the process that claimed ``folder`` still runs (``None``: not claimed)."""
    try:
        return procs.tag_alive((folder / OWNER_FILE).read_text())
    except OSError:
        return None


def stale(parent: Path | None = None) -> list[Path]:
    """Claimed folders under ``parent`` (default: the temporary directory) whose owner is gone."""
    parent = Path(parent or tempfile.gettempdir())
    try:
        candidates = sorted(p for p in parent.iterdir() if p.name.startswith(PREFIX))
    except OSError:
        return []
    return [p for p in candidates if p.is_dir() and not p.is_symlink()
            and owner_alive(p) is False]


def sweep(parent: Path | None = None) -> list[Path]:
    """Unmount and remove the stale folders under ``parent``; return the ones removed.

    Docker containers whose owner on this machine is gone are removed too (see
    :func:`mlgym.sandbox.docker.sweep_containers`).
    """
    from mlgym.sandbox.docker import sweep_containers

    for name in sweep_containers():
        log.info("removed container %s, left by a process that ended without closing it", name)
    removed = []
    for folder in stale(parent):
        _kill_inside(folder)
        stuck = _unmount_below(folder)
        if stuck:
            log.warning("cannot unmount %s; leaving %s in place", ", ".join(stuck), folder)
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


def mounts_below(folder: Path) -> list[str]:
    """Mount points at or inside ``folder``, deepest first (from ``/proc/self/mountinfo``)."""
    root = os.path.realpath(folder)
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        if point == root or point.startswith(root + "/"):
            found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def _kill_inside(folder: Path) -> None:
    """Kill the processes whose working folder is ``folder`` or inside it."""
    root = os.path.realpath(folder)
    inside = []
    for proc in procs.table():
        try:
            cwd = os.readlink(f"/proc/{proc.pid}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + "/"):
            inside.append(proc.pid)
    procs.send(inside)
    procs.wait_gone(inside, 5.0)


def _unmount_below(folder: Path) -> list[str]:
    stuck = []
    for point in mounts_below(folder):
        proc = subprocess.run(["umount", "--lazy", point], capture_output=True, text=True)
        if proc.returncode != 0:
            stuck.append(point)
    return stuck
