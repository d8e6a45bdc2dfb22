"""How ``mlgym bench run`` scales with workers, and what its results store costs per episode.

It runs the same small bench (the baseline agent on the game tasks, several seeds, the local
backend unless told otherwise) with 1, 2 and 4 workers, each in a fresh run folder, and prints
for each: wall time, episodes per minute and the scaling ratio against one worker. Then it
times the store alone: one episode's life in it (added, running, its cost updated after each
step, finished with a real result record), over many episodes, in milliseconds per episode.

Usage::

    python benchmarks/bench_scaling.py [--seeds 4] [--workers 1 2 4] [--backend local]

Episodes here are short (about a second of work each), so a worker's start (a fresh Python
that loads the plugins) is a good part of every episode; the ratio is what the run's own
machinery allows. Expect near-linear scaling while there are free cores: on a machine with
fewer cores than workers, or one others are using (see the load printed), the ratio stops
growing at the cores there are.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import yaml

from mlgym.bench import RunStore, run_benchmark
from mlgym.bench.config import expand, load_bench_config

TASKS = ["prisoners-dilemma", "battle-of-sexes", "blotto"]


def run_once(folder: Path, workers: int, seeds: int, backend: str) -> tuple[float, int, dict]:
    config = folder / f"bench-{workers}.yaml"
    config.write_text(yaml.safe_dump({
        "name": f"scaling-{workers}", "out": f"run-{workers}", "tasks": TASKS,
        "agents": [{"agent": "baseline"}], "seeds": seeds, "backend": backend,
        "parallel": workers, "max_starting": workers, "resources": {"cpus": workers}}))
    start = time.monotonic()
    result = run_benchmark(config)
    return time.monotonic() - start, result.totals["done"], result.totals


def store_overhead(folder: Path, record: dict, episodes: int = 200, steps: int = 10) -> float:
    """Milliseconds of store work per episode: its whole life in the store, ``steps`` steps."""
    config = folder / "store.yaml"
    config.write_text(yaml.safe_dump({"tasks": TASKS, "agents": [{"agent": "baseline"}],
                                      "seeds": episodes // len(TASKS) + 1}))
    planned = expand(load_bench_config(config))[:episodes]
    store = RunStore(folder / "store-run")
    start = time.perf_counter()
    store.add_episodes(planned)
    for episode in planned:
        store.mark_running(episode.key, "12345:1@host")
        for step in range(steps):
            store.update_cost(episode.key, 0.001 * step)
        store.mark_finished(episode.key, record)
        store.totals()  # the live display reads the counts once per episode or more
    elapsed = time.perf_counter() - start
    store.close()
    return 1000 * elapsed / len(planned)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=4, help="seeds per task (default 4)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--backend", default="local")
    args = parser.parse_args()
    print(f"{len(TASKS)} tasks x {args.seeds} seeds, baseline agent, backend {args.backend}; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        folder = Path(tmp)
        base = None
        record = None
        print(f"{'workers':>7} {'episodes':>8} {'wall s':>8} {'episodes/min':>12} {'scaling':>8}")
        for workers in args.workers:
            wall, done, _ = run_once(folder, workers, args.seeds, args.backend)
            per_minute = 60 * done / wall
            base = base or per_minute
            print(f"{workers:>7} {done:>8} {wall:>8.1f} {per_minute:>12.1f} "
                  f"{per_minute / base:>7.2f}x")
            if record is None:
                store = RunStore(folder / f"run-{workers}")
                record = store.episodes("done")[0].result
                store.close()
        overhead = store_overhead(folder, record)
        print(f"store overhead: {overhead:.2f} ms per episode (its whole life in the store, "
              f"10 cost updates; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
