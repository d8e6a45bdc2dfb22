"""What the ``automl`` search reaches within the default budget, and how long it takes.

For each task (by default every installed task that declares knobs) it runs
``mlgym run --task T --agent automl`` with the task's own budgets on the chosen backend, and
prints one row per task: the baseline, the search's submission and its best validation, the
trials it ran, the steps, and the wall time of the episode (its trajectory's ``duration``).

Usage::

    python benchmarks/automl_search.py [--tasks house-price blotto] [--backend bwrap]
                                       [--protocol mlgym] [--max-steps N] [--seed 0]

The time depends on the machine and on what else runs on it: the load average is printed
beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mlgym.plugins import get_registry


def tasks_with_knobs() -> list[str]:
    registry = get_registry()
    return [t for t in registry.ids("tasks") if registry.task(t).knobs]


def run(task: str, out: Path, args: argparse.Namespace) -> dict:
    command = [sys.executable, "-m", "mlgym", "run", "--task", task, "--agent", "automl",
               "--backend", args.backend, "--protocol", args.protocol, "--out", str(out)]
    if args.max_steps:
        command += ["--max-steps", str(args.max_steps)]
    if args.seed:
        command += ["--seed", str(args.seed)]
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
    return json.loads((out / "trajectory.json").read_text())


def row(task: str, data: dict) -> str:
    metric = get_registry().task(task).primary_metric
    submitted = (data.get("submission") or {}).get("scores") or {}
    validated = [e["scores"][metric.name] for e in data["evaluations"]
                 if e["action"] == "validate" and e["ok"]]
    best = (max if metric.direction == "maximize" else min)(validated) if validated else None
    trials = sum(1 for e in data["evaluations"] if e["action"] == "validate")
    cells = [task, metric.name, data["baseline"].get(metric.name), submitted.get(metric.name),
             best, trials, data["totals"]["steps"], data["duration"], data["exit_reason"]]
    return " | ".join("–" if c is None else f"{c:.4g}" if isinstance(c, float) else str(c)
                      for c in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="*", help="task ids (default: every task with knobs)")
    parser.add_argument("--backend", default="bwrap")
    parser.add_argument("--protocol", default="mlgym")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tasks = args.tasks or tasks_with_knobs()
    print(f"automl, backend {args.backend}, protocol {args.protocol}, seed {args.seed}, load "
          f"average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("task | metric | baseline | submission | best validation | trials | steps | "
          "time (s) | exit reason")
    with tempfile.TemporaryDirectory(prefix="automl-bench-") as folder:
        for task in tasks:
            print(row(task, run(task, Path(folder) / task, args)), flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
