"""Measure the house-price baseline: run the starter baseline.py, then the evaluator on both splits.

    python plugins/tasks/house-price/benchmarks/baseline.py

Needs the task's requirements (numpy, pandas, scikit-learn) in the running Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mlgym.plugins import get_registry


def main() -> int:
    registry = get_registry()
    task = registry.task("house-price")
    dataset = registry.get("datasets", "house-prices-ames-split")
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "workspace"
        shutil.copytree(task.starter_dir, workspace)
        shutil.copytree(dataset.root, workspace / "data", ignore=shutil.ignore_patterns("*.yaml"))
        (workspace / "submission.csv").unlink()
        run = subprocess.run([sys.executable, "baseline.py"], cwd=workspace, text=True,
                             capture_output=True)
        if run.returncode != 0:
            print(run.stderr, file=sys.stderr)
            return 1
        print(f"baseline.py: {run.stdout.strip().splitlines()[0]}")
        for split in ("test", "dev"):
            env = {**os.environ, "MLGYM_WORKSPACE": str(workspace), "MLGYM_SPLIT": split,
                   "MLGYM_HIDDEN_DIR": str(task.hidden_dir), "MLGYM_SEED": "0"}
            result = subprocess.run([sys.executable, "evaluate.py"], cwd=task.evaluator_dir,
                                    env=env, capture_output=True, text=True)
            print(f"{split}: {(result.stdout or result.stderr).strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
