"""Generated result records: a benchmark of two methods x three tasks x three seeds."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from mlgym.episode import ACTION_KINDS
from mlgym.scoring import BUILTIN

ROOT = Path(__file__).resolve().parents[2]
# task ids spelled as a runner would write them; the published file names them "House Price"...
# (direction, baseline, range of scores an agent reaches)
TASKS = {"house-price": ("maximize", 0.88, (0.85, 0.93)), "blotto": ("maximize", -0.248, (-0.3, 0.4)),
         "3-sat": ("minimize", 16.158, (12.0, 17.0))}
METHODS = {"react:model-a": 0.06, "react:model-b": 0.02}  # method -> mean cost per episode


def published_path() -> Path:
    for path in (Path(os.environ.get("MLGYM_PUBLISHED_RESULTS", "/nonexistent")),
                 BUILTIN["mlgym-bench"]):
        if path.is_file():
            return path
    raise AssertionError("mlgym-published-results.json not found; set MLGYM_PUBLISHED_RESULTS")


@pytest.fixture
def published_file() -> Path:
    return published_path()


def episode(task: str, method: str, seed: int, rng: random.Random) -> dict:
    """A plausible result record: a few validations, then a submission or a budget running out."""
    direction, _, (low, high) = TASKS[task]
    if method.endswith("-b"):  # the weaker method reaches only the worse half of the range
        middle = (low + high) / 2
        low, high = (low, middle) if direction == "maximize" else (middle, high)
    kinds = [rng.choice(ACTION_KINDS[:3] + ("python", "bash")) for _ in range(rng.randint(6, 14))]
    evaluations = []
    for i in range(rng.randint(1, 3)):
        score = round(rng.uniform(low, high), 4)
        kinds.insert(rng.randint(1, len(kinds)), "validate")
        evaluations.append({"step": 3 + 2 * i, "action": "validate", "split": "test", "ok": True,
                            "scores": {"score": score}, "error": None, "time": 10.0 * i})
    submitted = rng.random() < 0.7
    last = dict(evaluations[-1], action="submit" if submitted else "auto_submit",
                step=len(kinds) + 1)
    evaluations.append(last)
    kinds.append("submit")
    cost = round(METHODS[method] * rng.uniform(0.5, 1.5), 4)
    return {"schema_version": 1, "task": task, "method": method, "agent": "react",
            "model": method.split(":")[1], "seed": seed, "protocol": "mlgym", "backend": "local",
            "evaluations": evaluations, "submission": last,
            "exit_reason": "submitted" if submitted else rng.choice(["max_steps", "cost_limit"]),
            "steps": len(kinds), "duration": 60.0, "cost": cost,
            "tokens": {"input": 1000, "output": 100}, "action_kinds": kinds,
            "trajectory": "trajectory.json"}


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    """results/<method>/<task>/<seed>/result.json, plus one .jsonl file holding model-b's 3-sat runs."""
    rng = random.Random(7)
    root = tmp_path / "results"
    lines = []
    for method in METHODS:
        for task in TASKS:
            for seed in range(3):
                record = episode(task, method, seed, rng)
                if method.endswith("-b") and task == "3-sat":
                    lines.append(json.dumps(record))
                    continue
                folder = root / method.replace(":", "_") / task / str(seed)
                folder.mkdir(parents=True)
                (folder / "result.json").write_text(json.dumps(record))
                (folder / "trajectory.json").write_text("{\"steps\": []}")
    (root / "extra.jsonl").write_text("\n".join(lines) + "\n\n")
    return root
