"""The baseline agent's episode on bwrap, with a reduced training budget: the checkpoints trained
in the sandbox score exactly what the same training scores outside it (JAX on the CPU is
deterministic given the seeds), so the declared baseline is reproducible by `mlgym run`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from mlgym.plugins import get_registry
from mlgym.testing import require_backend, run_evaluator

TASK = "rl-mountain-car-continuous"
TRAIN = "python train.py --total-timesteps 40000"


@pytest.mark.slow
@pytest.mark.bwrap
def test_the_baseline_agent_trains_and_submits_on_bwrap(tmp_path):
    require_backend("bwrap")
    agent = tmp_path / "agent.yaml"
    agent.write_text(yaml.safe_dump({"agent": "baseline", "options": {"commands": [f"long {TRAIN}"]}}))
    out = tmp_path / "episode"
    run = subprocess.run([sys.executable, "-m", "mlgym", "run", "--task", TASK, "--config", str(agent),
                          "--backend", "bwrap", "--out", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout + run.stderr
    record = json.loads((out / "result.json").read_text())
    submission = record["submission"]
    assert record["exit_reason"] == "submitted" and submission["ok"], submission
    assert submission["split"] == "test"

    here = tmp_path / "here"
    shutil.copytree(get_registry().task(TASK).starter_dir, here,
                    ignore=shutil.ignore_patterns("checkpoints"))
    subprocess.run([sys.executable, *TRAIN.split()[1:]], cwd=here, check=True,
                   capture_output=True, timeout=1800)
    assert submission["scores"] == run_evaluator(TASK, here).scores
