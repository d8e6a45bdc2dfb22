"""Taking over a run: one process at a time, and what a killed one left behind cleaned up.

:class:`RunLock` is an exclusive ``flock`` on the run's ``bench.lock``: the kernel releases it
when its process dies, even by ``kill -9``, so holding it proves no other process drives the run.
:func:`recover`, called with the lock held, finishes what the previous process could not:

- an episode the store says is running either finished on disk (its trajectory has ended: it
  is recorded as it is) or was cut off: its partial trajectory is kept under
  ``interrupted/<key>.attempt<n>/`` (its exit reason says ``interrupted``) and it runs again;
- a worker of the dead run still winding down is stopped;
- the sandbox folders of dead MLGym processes are removed with their mounts and the processes
  still working in them (:func:`mlgym.sandbox.leftovers.sweep`);
- cost reservations of model calls that were in flight are released.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from mlgym.agents.trajectory import TRAJECTORY_FILE, result_record
from mlgym.bench.store import EpisodeRow, RunStore
from mlgym.errors import MLGymError
from mlgym.sandbox import leftovers, procs

LOCK_FILE = "bench.lock"
LEDGER_FILE = "cost-ledger.json"
MARK_FILE = "INTERRUPTED.json"  # beside a partial trajectory kept after an interruption


class RunInProgress(MLGymError):
    """Another process is running this benchmark run."""


class RunLock:
    """Hold the run in ``run_dir`` for this process (a context manager)."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunInProgress(f"the run in {self.path.parent} is being run by {holder}; wait "
                                "for it, or stop it (Ctrl-C or kill <pid>) and run again") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None

    @staticmethod
    def held(run_dir: Path) -> str | None:
        """Who runs the run in ``run_dir`` now (``"pid N on host"``), or ``None``."""
        path = Path(run_dir) / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.read(fd, 200).decode(errors="replace").strip() or "another process"
        finally:
            os.close(fd)
        return None


@dataclass
class Recovery:
    """What :func:`recover` found and did."""

    adopted: list[str] = field(default_factory=list)  # ended on disk, recorded now
    interrupted: list[str] = field(default_factory=list)  # to run again
    removed: list[Path] = field(default_factory=list)  # leftover sandbox folders


def worker_id(pid: int, host: str | None = None) -> str:
    """How the store names a worker process: ``pid:start-ticks@host``."""
    proc = procs.read(pid)
    return f"{pid}:{proc.start if proc else 0}@{host or socket.gethostname()}"


def recover(store: RunStore) -> Recovery:
    """Clean up after the process that ran ``store``'s run before (see the module docstring)."""
    found = Recovery()
    for row in store.episodes("running"):
        _stop_worker(row.worker)
        ended = finished_trajectory(store.run_dir / "episodes" / row.key)
        if ended is not None:
            store.mark_finished(row.key, result_record(ended), ended.get("error"))
            found.adopted.append(row.key)
        else:
            store.mark_interrupted(row.key, park(store.run_dir, row))
            found.interrupted.append(row.key)
    found.removed = leftovers.sweep()
    release_reservations(store.run_dir / LEDGER_FILE)
    return found


def finished_trajectory(folder: Path) -> dict | None:
    """The trajectory in ``folder`` if its episode ended (not cut off), else ``None``."""
    try:
        data = json.loads((folder / TRAJECTORY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("finished_at") and data.get("exit_reason") != "interrupted":
        return data
    return None


def park(run_dir: Path, row: EpisodeRow) -> str | None:
    """Move the episode's folder aside to ``interrupted/``; return its path in the run."""
    folder = run_dir / "episodes" / row.key
    if not folder.exists():
        return None
    target = run_dir / "interrupted" / f"{row.key}.attempt{max(row.attempts, 1)}"
    n = 1
    while target.exists():
        n += 1
        target = target.with_name(f"{row.key}.attempt{max(row.attempts, 1)}-{n}")
    target.parent.mkdir(parents=True, exist_ok=True)
    folder.rename(target)
    (target / MARK_FILE).write_text(json.dumps({
        "episode": row.key, "attempt": max(row.attempts, 1), "parked_at": time.time(),
        "why": "the run stopped before this attempt ended; the episode was run again from the "
               "start, and this partial trajectory is kept for the record"}, indent=1) + "\n")
    return str(target.relative_to(run_dir))


def _stop_worker(worker: str | None, grace: float = 60.0) -> None:
    """Stop a worker of the previous process that still runs on this host (it may be ending)."""
    if not worker or "@" not in worker:
        return
    ident, host = worker.rsplit("@", 1)
    if host != socket.gethostname():
        return
    pid_text, _, start_text = ident.partition(":")
    proc = procs.read(int(pid_text))
    if proc is None or str(proc.start) != start_text:
        return
    procs.send([proc.pid], signal.SIGTERM)
    if not procs.wait_gone([proc.pid], grace):
        procs.send([proc.pid], signal.SIGKILL)
        procs.wait_gone([proc.pid], 5.0)


def release_reservations(ledger: Path) -> None:
    """Drop the reservations of model calls a killed process had in flight."""
    if not ledger.exists():
        return
    with FileLock(str(ledger) + ".lock"):
        try:
            data = json.loads(ledger.read_text())
        except ValueError:
            return
        if data.get("reserved"):
            data["reserved"] = 0.0
            ledger.write_text(json.dumps(data))
