"""Time the RL tasks on this machine: the starter's training throughput and one evaluation.

For each RL task it prints:

* training: environment steps per second of the starter's train.py over all 5 seeds, measured
  on the log lines after the first (the first one includes compilation), for a short run of
  ``--steps`` steps per seed with the task's own config.yaml otherwise;
* evaluation: the wall time of the full referee evaluation (6,400 episodes: 5 checkpoints x 5
  seeds x 256 environments) of the checkpoints that short run wrote, on the dev seeds, with the
  player a plain subprocess (``mlgym.testing.run_evaluator``), and the number of steps it took.

Usage::

    python benchmarks/rl_tasks.py                                  # all three tasks
    python benchmarks/rl_tasks.py --tasks rl-breakout-minatar --steps 300000
    taskset -c 0,1 python benchmarks/rl_tasks.py                   # on 2 cores

Say whether the machine was shared when you quote a figure: training is CPU-bound.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from mlgym.plugins import get_registry
from mlgym.testing import run_evaluator

TASKS = ["rl-meta-maze", "rl-mountain-car-continuous", "rl-breakout-minatar"]


def train(task_id: str, folder: Path, steps: int) -> tuple[float, float]:
    """Run the starter for ``steps`` steps per seed; (steady steps/s, wall seconds)."""
    starter = get_registry().task(task_id).starter_dir
    shutil.copytree(starter, folder, ignore=shutil.ignore_patterns("checkpoints"))
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["log_count"] = 6
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "train.py", "--total-timesteps", str(steps)], cwd=folder,
                         check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - started
    rates = [float(r.replace(",", "")) for r in re.findall(r"\(([\d,]+) steps/s", out)]
    steady = rates[1:] or rates
    return sum(steady) / len(steady), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=TASKS)
    parser.add_argument("--steps", type=int, default=200_000, help="per seed")
    args = parser.parse_args()
    print(f"{'task':28} {'train steps/s':>14} {'train wall':>11} {'eval wall':>10} {'eval steps':>11}")
    for task_id in args.tasks:
        with tempfile.TemporaryDirectory() as tmp:
            rate, wall = train(task_id, Path(tmp) / "ws", args.steps)
            started = time.perf_counter()
            run = run_evaluator(task_id, Path(tmp) / "ws", split="dev")
            evaluation = time.perf_counter() - started
            assert run.ok, run.stderr[-2000:]
            steps = re.search(r"episodes, (\d+) steps", run.stderr).group(1)
            print(f"{task_id:28} {rate:>14,.0f} {wall:>10.0f}s {evaluation:>9.1f}s {steps:>11}",
                  flush=True)


if __name__ == "__main__":
    main()
