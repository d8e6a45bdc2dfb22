"""The cifar10 task end to end on a small dataset made in the hub's exact format."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from mlgym_datasets_vision import testing as hub

from mlgym.episode.datasets import hidden_folder, materialise
from mlgym.plugins import get_registry
from mlgym.testing import check_task_env, require_backend, run_evaluator

TRAIN, TEST = 200, 50


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """``uoft-cs/cifar10`` as the hub serves it (tiny), materialised by MLGym into a fresh data
    folder; the variables that point MLGym at both stay set for the module's tests."""
    root = tmp_path_factory.mktemp("cifar10")
    train = hub.classification_arrays(TRAIN, (32, 32, 3), seed=10)
    test = hub.classification_arrays(TEST, (32, 32, 3), seed=11)
    hub.cifar10_repo(root / "mirror", train, test)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLGYM_DATA_DIR", str(root / "data"))
        patch.setenv("MLGYM_HF_MIRROR", str(root / "mirror"))
        patch.setenv("HF_HOME", str(root / "hf"))
        patch.setenv("HF_HUB_OFFLINE", "1")
        folder = materialise(get_registry().get("datasets", "cifar10"))
        yield {"root": root / "data", "folder": folder, "train": train, "test": test}


def submission(rows) -> dict[str, str]:
    return {"submission.csv": "id,label\n" + "".join(f"{i},{y}\n" for i, y in rows)}


def test_the_workspace_data_has_no_test_labels(data):
    assert sorted(p.name for p in data["folder"].glob("*.npy")) \
        == ["test_images.npy", "train_images.npy", "train_labels.npy"]
    assert np.array_equal(np.load(hidden_folder(data["folder"]) / "test_labels.npy"),
                          data["test"][1])


def test_accuracy_against_the_hidden_labels_and_on_the_held_out_tenth(data):
    test_labels, train_labels = data["test"][1], data["train"][1]
    rows = [(f"test-{i}", y if i < 35 else (y + 3) % 10) for i, y in enumerate(test_labels)]
    held_out = range(TRAIN * 9 // 10, TRAIN)
    rows += [(f"train-{i}", train_labels[i] if i % 5 else (train_labels[i] + 1) % 10)
             for i in held_out]
    assert run_evaluator("cifar10", submission(rows), data_dir=data["root"]).score() \
        == pytest.approx(35 / TEST)
    assert run_evaluator("cifar10", submission(rows), split="dev",
                         data_dir=data["root"]).score() == pytest.approx(0.8)


def test_the_environment_passes_check_env(data):
    """Gymnasium's checker on the task's environment over the hub-format data: nothing raised,
    no warning but the one that no render fps is declared (MLGym does not render)."""
    check_task_env("cifar10")


def test_an_id_outside_both_splits_fails_naming_its_row(data):
    rows = [(f"test-{i}", 0) for i in range(TEST)] + [("train-3", 1)]
    run = run_evaluator("cifar10", submission(rows), data_dir=data["root"])
    assert run.scores is None and f"line {TEST + 2}: unknown id 'train-3'" in run.failure()


@pytest.mark.slow
@pytest.mark.bwrap
def test_the_baseline_agent_trains_and_submits_on_bwrap(data, tmp_path):
    require_backend("bwrap")
    config = tmp_path / "agent.yaml"
    config.write_text(json.dumps({"agent": "baseline",
                                  "options": {"commands": ["long python train.py --epochs 2"]}}))
    out = tmp_path / "episode"
    run = subprocess.run([sys.executable, "-m", "mlgym", "run", "--task", "cifar10", "--agent",
                          "baseline", "--config", str(config), "--backend", "bwrap", "--out",
                          str(out), "--quiet"], capture_output=True, text=True, timeout=1500,
                         env=dict(os.environ))
    assert run.returncode == 0, run.stdout + run.stderr
    record = json.loads((out / "result.json").read_text())
    assert record["exit_reason"] == "submitted" and record["submission"]["ok"], record
    assert 0 <= record["submission"]["scores"]["accuracy"] <= 1
