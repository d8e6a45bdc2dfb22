"""Measure the 3sat baseline: the starter heuristic through the real evaluator, dev and test.

The evaluator runs here as a plain subprocess, and so does its player (no sandbox): this measures
the solver, not the isolation; ``mlgym run --task 3sat --agent baseline --backend bwrap`` measures
both.

    python plugins/tasks/3sat/benchmarks/baseline.py [--seed 0] [--splits dev test]

Prints each run's total as the evaluator reports it and the final metrics per split, with the
machine's CPU count and load average so figures from different machines can be told apart.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from mlgym.plugins import get_registry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--splits", nargs="+", default=["dev", "test"], choices=["dev", "test"])
    args = parser.parse_args()
    task = get_registry().task("3sat")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as workspace:
        shutil.copy(task.starter_dir / "heuristic.py", workspace)
        for split in args.splits:
            env = {**os.environ, "MLGYM_WORKSPACE": workspace, "MLGYM_SPLIT": split,
                   "MLGYM_HIDDEN_DIR": str(task.hidden_dir), "MLGYM_SEED": str(args.seed)}
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "evaluate.py"], cwd=task.evaluator_dir,
                                    env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if result.returncode != 0:
                print(result.stderr, file=sys.stderr)
                return 1
            for line in result.stderr.splitlines():
                if line.startswith("run "):
                    print(f"  {split} {line}")
            print(f"{split}: {result.stdout.splitlines()[-1]}  (evaluation took {elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
