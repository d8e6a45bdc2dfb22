"""Where the episodes of a run execute: the :class:`Executor` interface and the local one.

An executor launches an episode (its :class:`~mlgym.agents.launch.EpisodeSpec` and the compute
its task needs), and reports :class:`Event` s: ``started`` (its sandbox is up), ``cost`` (what
it has spent so far) and ``finished`` (with its trajectory, or ``None`` and why not). The
scheduler decides what to launch and records everything in the store; executors never touch it.

:class:`LocalExecutor` runs each episode in a worker process of its own
(``python -m mlgym.bench.worker``), so one episode's crash or memory stays its own.
:mod:`mlgym.bench.ray_executor` runs them as Ray tasks; :func:`mlgym.bench.runs.make_executor`
imports it only when asked for.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlgym.agents.launch import EpisodeSpec
from mlgym.bench.config import Resources
from mlgym.bench.recovery import worker_id


@dataclass
class Event:
    """Something that happened to a launched episode."""

    key: str
    kind: str  # "started", "cost" or "finished"
    cost: float = 0.0
    trajectory: dict | None = None  # finished: the episode's trajectory, if it has one
    error: str | None = None  # finished without a trajectory: why


class Executor(Protocol):
    name: str

    def capacity(self) -> Resources:
        """What is there to run episodes on (CPUs, memory in MiB, GPUs)."""

    def launch(self, key: str, spec: EpisodeSpec, compute: dict) -> str:
        """Start the episode; return the worker's id as the store records it."""

    def poll(self, timeout: float) -> list[Event]:
        """What happened since the last poll, waiting up to ``timeout`` seconds for something."""

    def interrupt(self) -> None:
        """Ask every running episode to stop as Ctrl-C does (each still reports ``finished``)."""

    def kill(self) -> None:
        """Stop every running episode now."""

    def close(self) -> None: ...


def machine_capacity() -> Resources:
    """This machine's CPUs (those this process may use) and memory; GPUs are never assumed."""
    try:
        cpus = float(len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        cpus = float(os.cpu_count() or 1)
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) // 1024
    except OSError:
        pass
    return Resources(cpus=cpus, memory_mb=memory, gpus=0)


@dataclass
class _Worker:
    key: str
    process: subprocess.Popen
    out_dir: Path
    buffer: bytes = b""
    error: str | None = None
    log: Any = None
    done: bool = field(default=False)


class LocalExecutor:
    """Worker processes on this machine, one per episode."""

    name = "local"

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.workers: dict[int, _Worker] = {}  # by stdout file descriptor
        self.selector = selectors.DefaultSelector()

    def capacity(self) -> Resources:
        return machine_capacity()

    def launch(self, key: str, spec: EpisodeSpec, compute: dict) -> str:
        logs = self.run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = open(logs / f"{key}.log", "ab")  # noqa: SIM115 -- closed when the worker ends
        env = {**os.environ, "MLGYM_BENCH_PARENT": str(os.getpid())}
        process = subprocess.Popen(
            [sys.executable, "-m", "mlgym.bench.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=log, env=env, start_new_session=True)
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(spec.to_dict()).encode())
        process.stdin.close()
        os.set_blocking(process.stdout.fileno(), False)
        worker = _Worker(key, process, Path(spec.out_dir or ""), log=log)
        self.workers[process.stdout.fileno()] = worker
        self.selector.register(process.stdout, selectors.EVENT_READ, worker)
        return worker_id(process.pid)

    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        if not self.workers:
            return events
        for selected, _ in self.selector.select(timeout):
            worker: _Worker = selected.data
            chunk = os.read(selected.fd, 65536)
            if chunk:
                worker.buffer += chunk
                *lines, worker.buffer = worker.buffer.split(b"\n")
                events += [e for e in map(lambda line: self._event(worker, line), lines) if e]
            else:
                events.append(self._end(selected.fd, worker))
        return events

    def _event(self, worker: _Worker, line: bytes) -> Event | None:
        try:
            data = json.loads(line)
        except ValueError:
            return None
        kind = data.get("event")
        if kind == "started":
            return Event(worker.key, "started")
        if kind == "step":
            return Event(worker.key, "cost", cost=float(data.get("cost") or 0.0))
        if kind == "error":
            worker.error = str(data.get("error"))
        return None

    def _end(self, fd: int, worker: _Worker) -> Event:
        self.selector.unregister(worker.process.stdout)
        del self.workers[fd]
        code = worker.process.wait()
        worker.process.stdout.close()
        worker.log.close()
        try:
            trajectory = json.loads((worker.out_dir / "trajectory.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            trajectory = None
        error = worker.error or f"the worker ended with exit code {code} (see logs/{worker.key}.log)"
        return Event(worker.key, "finished", trajectory=trajectory, error=error)

    def _signal(self, sig: int) -> None:
        for worker in self.workers.values():
            try:
                worker.process.send_signal(sig)
            except ProcessLookupError:
                pass

    def interrupt(self) -> None:
        self._signal(signal.SIGINT)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def close(self) -> None:
        self.kill()
        for fd, worker in list(self.workers.items()):
            self._end(fd, worker)
        self.selector.close()
