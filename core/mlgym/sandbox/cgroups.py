"""A memory + pids (+ cpu) control group per sandbox, on cgroup v1 or v2.

Created as a child of the cgroup this Python process is in, so that any limit placed on the
harness still holds. A process joins it by the small ``/bin/sh`` wrapper that :meth:`Cgroup.wrap`
puts in front of a command line (it writes its own pid to ``cgroup.procs`` and ``exec``s), so
the sandbox is inside from its first instruction. Where neither version is writable,
:func:`unavailable_reason` says why and the backends fall back to ``prlimit`` alone.
"""

from __future__ import annotations

import os
import shlex
import signal
import time
import uuid
from pathlib import Path

from mlgym.sandbox.base import Limits

_V1_CONTROLLERS = ("memory", "pids", "cpu")
_PERIOD_US = 100_000


def _mounts() -> tuple[dict[str, Path], Path | None]:
    """v1 mount points by controller, and the v2 mount point (if any)."""
    v1: dict[str, Path] = {}
    v2 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, _, options = (right.split() + ["", "", ""])[:3]
            mountpoint = Path(left.split()[4])
            if fstype == "cgroup2":
                v2 = mountpoint
            elif fstype == "cgroup":
                for opt in options.split(","):
                    if opt in _V1_CONTROLLERS:
                        v1[opt] = mountpoint
    return v1, v2


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per v1 controller, and under key ``""`` for v2."""
    paths = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(","):
                paths[c] = path
    return paths


def _v2_base() -> Path | None:
    _, mount = _mounts()
    own = _own_paths().get("")
    if mount is None or own is None:
        return None
    base = mount / own.lstrip("/")
    try:
        available = (base / "cgroup.controllers").read_text().split()
    except OSError:
        return None
    return base if {"memory", "pids"} <= set(available) and os.access(base, os.W_OK) else None


def _v1_bases() -> dict[str, Path] | None:
    mounts, _ = _mounts()
    own = _own_paths()
    bases = {}
    for c in _V1_CONTROLLERS:
        if c not in mounts or c not in own:
            if c == "cpu":
                continue
            return None
        base = mounts[c] / own[c].lstrip("/")
        if not os.access(base, os.W_OK):
            if c == "cpu":
                continue
            return None
        bases[c] = base
    return bases


def unavailable_reason() -> str | None:
    """``None`` when per-sandbox cgroups can be made here, else why not."""
    if _v2_base() is not None or _v1_bases() is not None:
        return None
    return ("no writable cgroup with the memory and pids controllers (cgroup v2 with them "
            "delegated, or cgroup v1 memory+pids hierarchies writable by this user; here: "
            f"{_where()}); memory is limited by address space (prlimit --as) and processes per "
            "uid (prlimit --nproc)")


def _where() -> str:
    """This process's cgroup folder per controller, and whether it is writable."""
    mounts, v2 = _mounts()
    own = _own_paths()
    found = []
    for c in ("memory", "pids"):
        if c not in mounts or c not in own:
            found.append(f"{c}: no v1 hierarchy")
            continue
        folder = mounts[c] / own[c].lstrip("/")
        found.append(f"{c}: {folder}{'' if os.access(folder, os.W_OK) else ' not writable'}")
    if v2 is not None and "" in own:
        base = v2 / own[""].lstrip("/")
        try:
            controllers = (base / "cgroup.controllers").read_text().split() or ["none"]
        except OSError:
            controllers = ["unreadable"]
        found.append(f"v2 {base} with controllers {' '.join(controllers)}")
    return "; ".join(found)


class Cgroup:
    """One sandbox's control group (possibly one directory per v1 hierarchy)."""

    def __init__(self, dirs: list[Path], version: int):
        self.dirs = dirs
        self.version = version

    @classmethod
    def create(cls, limits: Limits, prefix: str = "mlgym") -> Cgroup | None:
        """Make a cgroup holding ``limits``; ``None`` if cgroups are not writable here."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        base = _v2_base()
        if base is not None:
            group = cls([base / name], 2)
            try:
                group.dirs[0].mkdir()
                group._limit_v2(limits)
                return group
            except OSError:
                group.remove()
        bases = _v1_bases()
        if bases is None:
            return None
        group = cls([], 1)
        try:
            for b in bases.values():
                (b / name).mkdir()
                group.dirs.append(b / name)
            group._limit_v1(limits)
        except OSError:
            group.remove()
            return None
        return group

    def _limit_v1(self, limits: Limits) -> None:
        for d in self.dirs:
            if limits.memory_mb and (d / "memory.limit_in_bytes").exists():
                size = str(limits.memory_mb * 1024 * 1024)
                (d / "memory.limit_in_bytes").write_text(size)
                if (d / "memory.memsw.limit_in_bytes").exists():
                    (d / "memory.memsw.limit_in_bytes").write_text(size)
            if limits.processes and (d / "pids.max").exists():
                (d / "pids.max").write_text(str(limits.processes))
            if limits.cpus and (d / "cpu.cfs_quota_us").exists():
                (d / "cpu.cfs_period_us").write_text(str(_PERIOD_US))
                (d / "cpu.cfs_quota_us").write_text(str(int(limits.cpus * _PERIOD_US)))

    def _limit_v2(self, limits: Limits) -> None:
        d = self.dirs[0]
        if limits.memory_mb:
            (d / "memory.max").write_text(str(limits.memory_mb * 1024 * 1024))
            if (d / "memory.swap.max").exists():
                (d / "memory.swap.max").write_text("0")
        if limits.processes:
            (d / "pids.max").write_text(str(limits.processes))
        if limits.cpus and (d / "cpu.max").exists():
            (d / "cpu.max").write_text(f"{int(limits.cpus * _PERIOD_US)} {_PERIOD_US}")

    @property
    def limits_memory(self) -> bool:
        return any((d / "memory.limit_in_bytes").exists() or (d / "memory.max").exists()
                   for d in self.dirs)

    @property
    def limits_pids(self) -> bool:
        return any((d / "pids.max").exists() for d in self.dirs)

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` prefixed so that the process joins this cgroup before it runs."""
        files = " ".join(shlex.quote(str(d / "cgroup.procs")) for d in self.dirs)
        script = f'for f in {files}; do echo $$ > "$f" || exit 125; done; exec "$@"'
        return ["/bin/sh", "-c", script, "mlgym-cgroup", *argv]

    def pids(self) -> list[int]:
        found: set[int] = set()
        for d in self.dirs:
            try:
                found.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return sorted(found)

    def oom_kills(self) -> int:
        """How many processes the kernel killed here for want of memory."""
        for d in self.dirs:
            for name in ("memory.oom_control", "memory.events"):
                try:
                    for line in (d / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill":
                            return int(value)
                except OSError:
                    continue
        return 0

    def kill_all(self, timeout: float = 5.0) -> bool:
        """SIGKILL every process in the group until it is empty; True if it emptied in time."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return True
            if time.monotonic() > deadline:
                return False
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        """Kill what is left and delete the group's directories."""
        self.kill_all()
        for d in self.dirs:
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.dirs = []
