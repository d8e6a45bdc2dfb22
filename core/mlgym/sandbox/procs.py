"""Finding and signalling the processes of a sandbox through the host's ``/proc``.

Used to kill exactly what a timed-out command started (and not the shell itself), and to make
sure that nothing of a sandbox survives :meth:`Sandbox.close`. A process is identified by its host
pid; "started at or after" compares ``/proc/<pid>/stat`` start times, in clock ticks since boot,
with :func:`now_ticks`.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    """One line of the process table."""

    pid: int
    ppid: int
    pgid: int
    sid: int
    start: int  # clock ticks after boot
    uid: int


def now_ticks() -> int:
    """The current time in the unit of ``/proc/<pid>/stat`` start times."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * CLK_TCK)


def read(pid: int) -> Proc | None:
    """The process ``pid``, or ``None`` if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        uid = os.stat(f"/proc/{pid}").st_uid
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name may hold spaces and parentheses: split after its last ')'
    fields = stat[stat.rindex(b")") + 2:].split()
    return Proc(pid, int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19]), uid)


def table() -> list[Proc]:
    """Every process on the host (that this process may look at)."""
    procs = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            proc = read(int(name))
            if proc is not None:
                procs.append(proc)
    return procs


def pid_namespace(pid: int) -> int | None:
    """The inode of ``pid``'s pid namespace, or ``None`` if it cannot be read."""
    try:
        return os.stat(f"/proc/{pid}/ns/pid").st_ino
    except OSError:
        return None


def in_namespace(ns: int, procs: Iterable[Proc] | None = None) -> list[Proc]:
    """The processes whose pid namespace is ``ns``."""
    return [p for p in (table() if procs is None else procs) if pid_namespace(p.pid) == ns]


def descendants(root: int, procs: Iterable[Proc]) -> list[Proc]:
    """The processes below ``root`` in the parent tree (not ``root`` itself)."""
    children: dict[int, list[Proc]] = {}
    for p in procs:
        children.setdefault(p.ppid, []).append(p)
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child.pid)
    return found


def children(pid: int) -> list[int]:
    """The direct children of ``pid``."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return [p.pid for p in table() if p.ppid == pid]


def send(pids: Iterable[int], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to each pid, ignoring those already gone."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def of_uid(uid: int) -> list[Proc]:
    """The processes running as ``uid``."""
    return [p for p in table() if p.uid == uid]


def wait_gone(pids: Iterable[int], timeout: float = 5.0) -> bool:
    """Wait until none of ``pids`` exists (zombies count as gone); True if so in time."""
    pending = set(pids)
    deadline = time.monotonic() + timeout
    while pending:
        pending = {p for p in pending if running(p)}
        if not pending:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:][:1] not in (b"Z", b"X")


def owner_tag() -> str:
    """This process as an owner: ``"<pid> <start time>"`` (what :func:`mlgym.sandbox.leftovers.claim` writes)."""
    me = read(os.getpid())
    return f"{os.getpid()} {me.start if me is not None else 0}"


def tag_alive(tag: str) -> bool | None:
    """Whether the owner an :func:`owner_tag` names still runs (``None``: not a tag)."""
    try:
        pid_text, start_text = tag.split()
        pid, start = int(pid_text), int(start_text)
    except ValueError:
        return None
    proc = read(pid)
    # a zombie is dead: it only waits for its parent to collect it
    return proc is not None and (start == 0 or proc.start == start) and running(pid)
