"""The referee in real sandboxes: an agent writes a model through ``env.step`` and validates it
on the test split, on bwrap and docker. The honest model scores its independently computed loss
on the hidden test text; the look-ahead model fails; nothing hidden is shown to the agent."""

from __future__ import annotations

import base64
import json

import lm_models as models
import numpy as np
import pytest
from conftest import PACKAGE, read_shard
from test_referee import independent_loss

pytestmark = pytest.mark.slow
BACKENDS = [pytest.param("bwrap", marks=pytest.mark.bwrap),
            pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(params=BACKENDS)
def env(request, shakespeare):
    from mlgym.episode import MLGymEnv
    from mlgym.testing import require_backend

    made = MLGymEnv("language-modeling", backend=require_backend(request.param))
    made.reset()
    yield made
    made.close()


def validate_with(env, source: str) -> tuple[str, dict]:
    data = base64.b64encode(source.encode()).decode()
    obs = env.step(f"mkdir -p checkpoint && printf %s {data} | base64 -d > model.py && echo ok")[0]
    assert obs.strip().endswith("ok"), obs
    obs, _, _, _, info = env.step("validate")
    return obs, info


def test_scores_and_refusals_in_a_sandbox(env, tmp_path):
    settings = json.loads((PACKAGE / "datasets/shakespeare/corpus.json").read_text())["evaluation"]
    tokens = np.asarray(read_shard(PACKAGE / "hidden/shakespeare/test.bin"), dtype=np.int64)
    last, count, context = len(tokens) - settings["context"] - 1, settings["windows"], \
        settings["context"]
    windows = np.stack([tokens[s:s + context + 1]
                        for s in (i * last // (count - 1) for i in range(count))])

    obs, info = validate_with(env, models.HONEST)
    evaluation = info["evaluation"]
    assert evaluation["ok"], obs
    assert evaluation["split"] == "test"
    assert evaluation["scores"]["loss"] == pytest.approx(
        independent_loss(models.HONEST, windows, tmp_path), abs=2e-3)

    obs, info = validate_with(env, models.LOOK_AHEAD)
    assert not info["evaluation"]["ok"] and info["evaluation"]["scores"] is None, obs
    assert "the call `logits` of your code answered with a value the evaluator rejects" in obs
    shown = obs + json.dumps(info)
    assert str(tokens[:12].tolist())[1:-1] not in shown  # no hidden text in what was shown


QUICK = "ITERATIONS=5 python train.py"


@pytest.mark.bwrap
def test_the_baseline_agent_trains_and_submits_on_bwrap(shakespeare, tmp_path):
    import shutil
    import subprocess
    import sys

    from mlgym.testing import require_backend, run_evaluator

    require_backend("bwrap")
    config = tmp_path / "agent.yaml"
    config.write_text(json.dumps({"agent": "baseline", "options": {"commands": [f"long {QUICK}"]}}))
    out = tmp_path / "episode"
    run = subprocess.run([sys.executable, "-m", "mlgym", "run", "--task", "language-modeling",
                          "--agent", "baseline", "--config", str(config), "--backend", "bwrap",
                          "--out", str(out), "--quiet"], capture_output=True, text=True,
                         timeout=1800)
    assert run.returncode == 0, run.stdout + run.stderr
    record = json.loads((out / "result.json").read_text())
    assert record["exit_reason"] == "submitted" and record["submission"]["ok"], record
    measured = record["submission"]["scores"]
    assert 7.0 < measured["loss"] < 10.8  # five steps learn the commonest tokens, no more
    assert measured["parameters"] == 3_323_584

    work = tmp_path / "here"  # the same training outside the sandbox scores the same
    shutil.copytree(PACKAGE / "starter", work)
    (work / "data").symlink_to(PACKAGE / "datasets/shakespeare")
    subprocess.run([sys.executable, "train.py"], cwd=work, check=True, capture_output=True,
                   env={**__import__("os").environ, "ITERATIONS": "5"}, timeout=900)
    here = run_evaluator("language-modeling", work).scores
    assert here["loss"] == pytest.approx(measured["loss"], abs=0.02)
