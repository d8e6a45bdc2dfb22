"""Running a benchmark: which episode starts when, and the run's budgets.

:class:`Admission` lets an episode start only while fewer than ``parallel`` run, fewer than
``max_starting`` sandboxes are starting, and the CPUs, memory and GPUs its task's ``compute``
asks for fit beside those already claimed. An episode that could never fit fails at once with
the reason. Budgets: the run's total cost is shared by every model call through a ledger file
(a call that could pass it is never made, and once it is spent no episode with a model starts);
the total time counts over resumes, no episode starts after it and each one that starts gets at
most the time left.

:class:`Scheduler` is the loop: admit, launch, listen to the executor, record in the store.
Ctrl-C (or SIGTERM) stops admitting and interrupts the running episodes, which go back to
pending with their partial trajectories kept; a second Ctrl-C kills them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlgym.agents.launch import EpisodeSpec
from mlgym.agents.trajectory import RESULT_FILE, TRAJECTORY_FILE, result_record
from mlgym.bench.config import BenchConfig, Resources
from mlgym.bench.executors import Event, Executor
from mlgym.bench.progress import BenchProgress, Snapshot
from mlgym.bench.recovery import LEDGER_FILE, park
from mlgym.bench.store import EpisodeRow, RunStore

STOP_GRACE = 120.0  # seconds interrupted episodes get to close their sandboxes


class Admission:
    """What may start now; see the module docstring."""

    def __init__(self, parallel: int, max_starting: int, capacity: Resources):
        self.parallel, self.max_starting, self.capacity = parallel, max_starting, capacity
        self.claims: dict[str, dict] = {}
        self.starting: set[str] = set()

    def _used(self, name: str) -> float:
        return sum(float(c.get(name) or 0) for c in self.claims.values())

    def impossible(self, compute: dict) -> str | None:
        """Why an episode needing ``compute`` can never start here, or ``None``."""
        for name, have in (("cpus", self.capacity.cpus), ("memory_mb", self.capacity.memory_mb),
                           ("gpus", self.capacity.gpus)):
            need = float(compute.get(name) or 0)
            if have is not None and need > have:
                unit = {"cpus": "CPUs", "memory_mb": "MiB of memory", "gpus": "GPUs"}[name]
                return (f"its task needs {need:g} {unit} and the run has {have:g}: raise "
                        f"resources.{name.removesuffix('_mb')} in the run config, or run it "
                        "where there is more")
        return None

    def slot_free(self) -> bool:
        return len(self.claims) < self.parallel and len(self.starting) < self.max_starting

    def fits(self, compute: dict) -> bool:
        for name, have in (("cpus", self.capacity.cpus), ("memory_mb", self.capacity.memory_mb),
                           ("gpus", self.capacity.gpus)):
            need = float(compute.get(name) or 0)
            if have is not None and need and self._used(name) + need > have:
                return False
        return True

    def claim(self, key: str, compute: dict) -> None:
        self.claims[key] = compute
        self.starting.add(key)

    def started(self, key: str) -> None:
        self.starting.discard(key)

    def release(self, key: str) -> None:
        self.claims.pop(key, None)
        self.starting.discard(key)


def capacity_for(config: BenchConfig, executor: Executor) -> Resources:
    """The run config's resources, each one not given taken from the executor."""
    have = executor.capacity()
    given = config.resources
    return Resources(cpus=given.cpus if given.cpus is not None else have.cpus,
                     memory_mb=given.memory_mb if given.memory_mb is not None else have.memory_mb,
                     gpus=given.gpus if config.data.get("resources", {}).get("gpus") is not None
                     else have.gpus)


@dataclass
class Outcome:
    """How a run ended in this process."""

    interrupted: bool = False
    finished: int = 0  # episodes that ended here
    held_back: list[str] = field(default_factory=list)  # why episodes were left pending


class Scheduler:
    """Runs the pending episodes of ``store`` on ``executor``."""

    def __init__(self, store: RunStore, executor: Executor, config: BenchConfig,
                 progress: BenchProgress | None = None):
        self.store, self.executor, self.config = store, executor, config
        self.progress = progress or BenchProgress(quiet=True)
        self.admission = Admission(config.parallel, config.max_starting,
                                   capacity_for(config, executor))
        self.run_dir = store.run_dir
        self.ledger = self.run_dir / LEDGER_FILE
        self.running: dict[str, float] = {}  # key -> cost so far
        self.rows: dict[str, EpisodeRow] = {}
        self.outcome = Outcome()
        self.clock = time.monotonic()
        self.elapsed_before = float(store.meta("elapsed", 0.0))
        self.stopping = False

    # -- budgets ---------------------------------------------------------------------------------

    def elapsed(self) -> float:
        """Seconds the run has run, earlier processes included."""
        return self.elapsed_before + time.monotonic() - self.clock

    def time_left(self) -> float | None:
        limit = self.config.total_time_limit
        return None if limit is None else limit - self.elapsed()

    def spent(self) -> float:
        """What the run's model calls spent, from the ledger they all write."""
        try:
            return float(json.loads(self.ledger.read_text())["spent"])
        except (OSError, ValueError, KeyError):
            return 0.0

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> Outcome:
        pending = self.store.episodes("pending")
        try:
            while pending or self.running:
                if not self.stopping:
                    pending = self._admit(pending)
                    if not self.running and pending:  # nothing can start any more
                        break
                for event in self.executor.poll(0.5):
                    self._handle(event)
                self._show()
        except KeyboardInterrupt:
            self._stop()
        finally:
            self.store.set_meta("elapsed", self.elapsed())
        self._show(force=True)
        self.progress.close()
        return self.outcome

    def _admit(self, pending: list[EpisodeRow]) -> list[EpisodeRow]:
        waiting = []
        left = self.time_left()
        for row in pending:
            why_not = self._held_back(row, left)
            if why_not:
                if why_not not in self.outcome.held_back:
                    self.outcome.held_back.append(why_not)
                    self.progress.line(why_not)
                waiting.append(row)
                continue
            impossible = self.admission.impossible(row.compute)
            if impossible:
                self.store.mark_running(row.key, "none")
                self.store.mark_finished(row.key, None, f"not started: {impossible}")
                self.progress.line(f"failed   {row.key}: not started: {impossible}")
                continue
            if not self.admission.slot_free() or not self.admission.fits(row.compute):
                waiting.append(row)
                continue
            self._launch(row, left)
        return waiting

    def _held_back(self, row: EpisodeRow, time_left: float | None) -> str | None:
        if time_left is not None and time_left <= 0:
            return (f"the run's total time limit of {self.config.total_time_limit:g} s is "
                    "reached: no more episodes start")
        limit = self.config.cost_limit
        if row.uses_model and limit is not None and self.spent() >= limit:
            return (f"the run's cost limit of ${limit:.4f} is spent: no more episodes with a "
                    "model start")
        return None

    def _launch(self, row: EpisodeRow, time_left: float | None) -> None:
        park(self.run_dir, row)  # a folder left by an earlier attempt is kept aside
        spec = EpisodeSpec.from_dict(row.spec)
        config = dict(spec.config)
        if row.uses_model:
            config["run_cost_ledger"] = str(self.ledger)
            if self.config.cost_limit is not None:
                config["run_cost_limit"] = self.config.cost_limit
        time_limit = spec.time_limit
        if time_limit is None and time_left is not None:
            from mlgym.plugins.registry import get_registry

            time_limit = get_registry().task(spec.task).time_limit
        if time_left is not None:
            time_limit = min(time_limit, time_left) if time_limit else time_left
        spec = dataclasses.replace(
            spec, config=config, time_limit=time_limit, run_id=self.store.meta("run_id"),
            out_dir=str(self.run_dir / "episodes" / row.key))
        self.admission.claim(row.key, row.compute)
        worker = self.executor.launch(row.key, spec, row.compute)
        self.store.mark_running(row.key, worker)
        self.rows[row.key] = self.store.episode(row.key)
        self.running[row.key] = 0.0

    def _handle(self, event: Event) -> None:
        if event.kind == "started":
            self.admission.started(event.key)
        elif event.kind == "cost":
            self.running[event.key] = event.cost
            self.store.update_cost(event.key, event.cost)
        elif event.kind == "finished":
            self._finished(event)

    def _finished(self, event: Event) -> None:
        self.admission.release(event.key)
        self.running.pop(event.key, None)
        row = self.rows.pop(event.key)
        data = event.trajectory
        if data is None and self.stopping:  # stopped before its episode had begun
            self.store.mark_interrupted(row.key, None)
            return
        if data is not None and data.get("exit_reason") == "interrupted":
            partial = park(self.run_dir, self.store.episode(row.key))
            self.store.mark_interrupted(row.key, partial, cost=data["totals"]["cost"])
            self.progress.line(f"stopped  {row.key} (kept as {partial}; it runs again on resume)")
            return
        self.outcome.finished += 1
        if data is None:
            self.store.mark_finished(row.key, None, event.error)
            self.progress.line(f"failed   {row.key}: {event.error}")
            return
        _write_missing(self.run_dir / "episodes" / row.key, data)
        record = result_record(data)
        state = self.store.mark_finished(row.key, record, data.get("error"))
        self.progress.line(f"{state:<8} {row.key}: {describe(record)}")

    def _stop(self) -> None:
        """Ctrl-C: interrupt the running episodes and wait for them (a second Ctrl-C kills)."""
        self.stopping = True
        self.outcome.interrupted = True
        if not self.running:
            return
        self.progress.line(f"interrupted: stopping {len(self.running)} running episodes "
                           "(Ctrl-C again to kill them)")
        self.executor.interrupt()
        deadline = time.monotonic() + STOP_GRACE
        try:
            while self.running and time.monotonic() < deadline:
                for event in self.executor.poll(0.5):
                    self._handle(event)
        except KeyboardInterrupt:
            pass
        if self.running:
            self.executor.kill()
            deadline = time.monotonic() + 10
            while self.running and time.monotonic() < deadline:
                for event in self.executor.poll(0.5):
                    self._handle(event)

    def _show(self, force: bool = False) -> None:
        counts = self.store.totals()
        snapshot = Snapshot(
            done=counts["done"], failed=counts["failed"], running=dict(self.running),
            left=counts["pending"], cost=counts["cost"], cost_limit=self.config.cost_limit,
            elapsed=time.monotonic() - self.clock, finished_here=self.outcome.finished,
            parallel=self.config.parallel)
        self.progress.update(snapshot, force=force)


def describe(record: dict) -> str:
    """An ended episode in a few words: exit reason, submitted scores, cost."""
    submission = record.get("submission") or {}
    scores = ", ".join(f"{k} {v:.4g}" for k, v in (submission.get("scores") or {}).items())
    scores = scores if submission.get("ok") else ("submission failed" if submission else "no submission")
    return f"{record['exit_reason']}, {scores}, ${record['cost']:.4f}, {record['steps']} steps"


def _write_missing(folder: Path, data: dict) -> None:
    """Write the trajectory and result record an executor brought back from another machine."""
    if (folder / TRAJECTORY_FILE).exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in ((TRAJECTORY_FILE, data), (RESULT_FILE, result_record(data))):
        tmp = folder / f".{name}.tmp"
        tmp.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, folder / name)
