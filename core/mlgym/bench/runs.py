"""A benchmark run as a whole: its folder, starting or resuming it, and its status.

A run lives in one folder (``out:`` of its config, else ``<results dir>/<name>``)::

    bench.sqlite          the store: one row per episode (mlgym.bench.store)
    bench.lock            held by the process running it
    cost-ledger.json      what the run's model calls spent and hold reserved
    episodes/<key>/       each episode's trajectory.json and result.json, as `mlgym run` writes
    interrupted/<key>.attempt<n>/   partial trajectories of attempts that were cut off
    logs/<key>.log        what each worker printed

Running a config again, or the folder itself, resumes the run: finished episodes stay as they
are, the rest run. A config that gained tasks, agents or seeds adds their episodes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from mlgym.agents.launch import new_run_id
from mlgym.bench.config import BenchConfig, PlannedEpisode, expand, load_bench_config, parse
from mlgym.bench.executors import Executor, LocalExecutor
from mlgym.bench.progress import BenchProgress
from mlgym.bench.recovery import Recovery, RunLock, recover
from mlgym.bench.scheduler import Outcome, Scheduler
from mlgym.bench.store import RunStore
from mlgym.errors import ConfigError


@dataclass
class RunResult:
    """What :func:`run_benchmark` did."""

    run_dir: Path
    outcome: Outcome
    recovery: Recovery
    added: int = 0
    totals: dict = field(default_factory=dict)


def resolve_run(name: str | Path) -> Path:
    """The folder of a run given as a path, or by its name under the results folder."""
    from mlgym.locations import results_dir

    for candidate in (Path(name), results_dir() / str(name)):
        if RunStore.is_run(candidate):
            return candidate.resolve()
    raise ConfigError(f"{name}: no benchmark run there (no bench.sqlite in {Path(name)} or in "
                      f"{results_dir() / str(name)}); start one with `mlgym bench run CONFIG.yaml`")


def open_run(source: str | Path) -> tuple[Path, BenchConfig, list[PlannedEpisode]]:
    """The run a config file or a run folder names, its config, and the episodes to add."""
    from mlgym.locations import results_dir

    path = Path(source)
    if path.is_file():
        config = load_bench_config(path)
        return (config.out or results_dir() / config.name), config, expand(config)
    run_dir = resolve_run(source)
    store = RunStore(run_dir)
    try:
        data, origin = store.meta("config"), store.meta("source")
    finally:
        store.close()
    if data is None:
        raise ConfigError(f"{run_dir}: the store holds no run config; run the config file again")
    return run_dir, parse(data, origin), []


def run_benchmark(source: str | Path, *, executor: str | None = None,
                  address: str | None = None, retry_failed: bool = False,
                  progress: BenchProgress | None = None) -> RunResult:
    """Start or resume the run ``source`` names (a config file or a run folder)."""
    progress = progress or BenchProgress(quiet=True)
    run_dir, config, planned = open_run(source)
    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir):
        store = RunStore(run_dir)
        try:
            if store.meta("run_id") is None:
                store.set_meta("run_id", new_run_id())
                store.set_meta("created_at", time.time())
            store.set_meta("config", config.data)
            store.set_meta("source", config.source)
            recovery = recover(store)
            _tell(progress, recovery)
            added = store.add_episodes(planned)
            if retry_failed:
                store.reset_failed()
            chosen = make_executor(executor or config.executor, run_dir, address or config.address)
            progress.line(f"run {run_dir}: {store.count()} episodes, {len(store.episodes('pending'))} "
                          f"to run, {config.parallel} at once, executor {chosen.name}")
            try:
                outcome = Scheduler(store, chosen, config, progress).run()
            finally:
                chosen.close()
            return RunResult(run_dir, outcome, recovery, added, store.totals())
        finally:
            store.close()


def make_executor(name: str, run_dir: Path, address: str | None = None) -> Executor:
    """The executor called ``name`` (``local`` or ``ray``)."""
    if name == "local":
        if address:
            raise ConfigError(f"--address {address} is for --executor ray; the local executor "
                              "runs on this machine")
        return LocalExecutor(run_dir)
    if name == "ray":
        from mlgym.bench.ray_executor import RayExecutor

        return RayExecutor(address)
    raise ConfigError(f"executor {name!r} is unknown; use local or ray")


def _tell(progress: BenchProgress, recovery: Recovery) -> None:
    if recovery.interrupted:
        progress.line(f"resuming: {len(recovery.interrupted)} episodes were cut off and run "
                      "again from the start (partial trajectories kept under interrupted/)")
    if recovery.adopted:
        progress.line(f"resuming: {len(recovery.adopted)} episodes had ended unrecorded; recorded")
    if recovery.removed:
        progress.line(f"resuming: removed {len(recovery.removed)} sandbox folders (and what "
                      "still ran in them) left behind by ended processes")


def status(run_dir: Path) -> dict:
    """The state of a run: counts, cost, who runs it, and every episode not done."""
    store = RunStore(run_dir)
    try:
        rows = store.episodes()
        totals = store.totals()
        config = store.meta("config") or {}
        elapsed = store.meta("elapsed", 0.0)
    finally:
        store.close()
    methods: dict[str, dict] = {}
    for row in rows:
        entry = methods.setdefault(row.method, {"done": 0, "running": 0, "failed": 0,
                                                "pending": 0, "cost": 0.0})
        entry[row.state] += 1
        entry["cost"] += row.spent
    return {
        "run": str(run_dir), "active": RunLock.held(run_dir), "totals": totals,
        "cost_limit": config.get("cost_limit"), "elapsed": elapsed, "methods": methods,
        "running": [{"key": r.key, "worker": r.worker, "since": r.started_at, "cost": r.cost}
                    for r in rows if r.state == "running"],
        "failed": [{"key": r.key, "exit_reason": r.exit_reason,
                    "error": ((r.error or "").strip().splitlines() or [""])[-1]}
                   for r in rows if r.state == "failed"],
        "interrupted": {r.key: r.interrupted for r in rows if r.interrupted},
    }
