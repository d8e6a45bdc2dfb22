"""The fashion-mnist task on the real data: evaluator, hidden labels, the baseline agent on bwrap."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest

from mlgym.episode.datasets import hidden_folder, materialise
from mlgym.plugins import get_registry
from mlgym.testing import require_backend, run_evaluator

QUICK = "python train.py --limit 2000"  # the reduced budget: 2,000 images, one epoch


@pytest.fixture(scope="module")
def task():
    return get_registry().task("fashion-mnist")


@pytest.fixture(scope="module")
def data():
    """The materialised dataset (from the Debian package): public folder and hidden labels."""
    folder = materialise(get_registry().get("datasets", "fashion-mnist"))
    labels = np.frombuffer((hidden_folder(folder) / "t10k-labels-idx1-ubyte").read_bytes(),
                           np.uint8, offset=8)
    train = np.frombuffer((folder / "train-labels-idx1-ubyte").read_bytes(), np.uint8, offset=8)
    return folder, labels, train


def csv_of(rows) -> dict[str, str]:
    return {"submission.csv": "id,label\n" + "".join(f"{i},{y}\n" for i, y in rows)}


def test_task_declares_its_dataset_splits_training_and_paper_figures(task):
    assert task.datasets == (("fashion-mnist", "data/fashion-mnist"),)
    assert task.splits == ("dev", "test")
    assert task.training_commands == ("long python train.py",)
    assert task.paper_baseline["accuracy"] == 0.7835
    assert 0.7 < task.baseline["accuracy"] < 1  # measured here, see the README


def test_accuracy_is_the_share_of_test_labels_predicted_right(data):
    _, labels, _ = data
    rows = [(f"test-{i}", y if i < 7300 else (y + 1) % 10) for i, y in enumerate(labels)]
    assert run_evaluator("fashion-mnist", csv_of(rows)).score() == pytest.approx(0.73)


def test_dev_scores_the_held_out_training_images_only(data):
    _, labels, train = data
    rows = [(f"test-{i}", 0) for i in range(10000)]  # all wrong but class 0: ignored on dev
    rows += [(f"train-{50000 + i}", y if i % 4 else (y + 1) % 10)
             for i, y in enumerate(train[50000:])]
    run = run_evaluator("fashion-mnist", csv_of(rows), split="dev")
    assert run.score() == pytest.approx(0.75)
    assert run_evaluator("fashion-mnist", csv_of(rows)).score() \
        == pytest.approx(float(np.mean(labels == 0)))


@pytest.mark.parametrize(("case", "expected"), [
    ("missing", "lacks 1 of the 10000 test images, the first being test-9999"),
    ("extra", "line 10002: unknown id 'test-10000'"),
    ("duplicate", "line 3: id test-0 appears more than once"),
    ("not_a_number", "line 5: label 'shirt' is not an integer"),
    ("out_of_range", "line 2: label 10 is not a class number 0-9"),
    ("header", "line 1: the header must be id,label"),
    ("columns", "line 4: expected 2 values (id,label), found 3"),
])
def test_a_bad_submission_fails_naming_the_first_bad_row(data, case, expected):
    _, labels, _ = data
    rows = [[f"test-{i}", str(y)] for i, y in enumerate(labels)]
    text = None
    if case == "missing":
        rows = rows[:-1]
    elif case == "extra":
        rows.append(["test-10000", "1"])
    elif case == "duplicate":
        rows.insert(1, ["test-0", "1"])
    elif case == "not_a_number":
        rows[3][1] = "shirt"
    elif case == "out_of_range":
        rows[0][1] = "10"
    elif case == "header":
        text = "image,label\n" + "".join(f"{i},{y}\n" for i, y in rows)
    elif case == "columns":
        rows[2].append("7")
    if text is None:
        text = "id,label\n" + "".join(",".join(r) + "\n" for r in rows)
    run = run_evaluator("fashion-mnist", {"submission.csv": text})
    assert run.scores is None and expected in run.failure()


@pytest.mark.bwrap
def test_the_workspace_holds_the_test_images_but_no_test_label(task, data):
    require_backend("bwrap")
    folder, _, _ = data
    env = gymnasium.make("mlgym/fashion-mnist", backend="bwrap")
    try:
        obs, _ = env.reset(seed=0)
        assert "t10k-images-idx3-ubyte" in obs and "t10k-labels" not in obs
        obs, *_ = env.step("ls -a data/fashion-mnist; find / -name '*t10k-labels*' 2>/dev/null; "
                           f"ls {folder.parent}/_hidden 2>&1 | head -1; "
                           "touch data/fashion-mnist/x 2>&1 | head -1")
        assert "t10k-images-idx3-ubyte" in obs and "train-labels-idx1-ubyte" in obs
        assert "t10k-labels" not in obs
        assert "No such file" in obs and "Read-only file system" in obs
    finally:
        env.close()


def _quick_run_here(tmp_path: Path, data_folder: Path) -> float:
    """The reduced-budget training run outside any sandbox, scored by the evaluator."""
    work = tmp_path / "here"
    shutil.copytree(get_registry().task("fashion-mnist").starter_dir, work)
    (work / "data").mkdir()
    (work / "data/fashion-mnist").symlink_to(data_folder)
    subprocess.run([sys.executable, *QUICK.split()[1:]], cwd=work, check=True,
                   capture_output=True, timeout=900)
    return run_evaluator("fashion-mnist", work).score()


@pytest.mark.slow
@pytest.mark.bwrap
def test_the_baseline_agent_on_bwrap_reproduces_the_run_outside_the_sandbox(data, tmp_path):
    require_backend("bwrap")
    config = tmp_path / "agent.yaml"
    config.write_text(json.dumps({"agent": "baseline", "options": {"commands": [f"long {QUICK}"]}}))
    out = tmp_path / "episode"
    run = subprocess.run([sys.executable, "-m", "mlgym", "run", "--task", "fashion-mnist",
                          "--agent", "baseline", "--config", str(config), "--backend", "bwrap",
                          "--out", str(out), "--quiet"], capture_output=True, text=True,
                         timeout=1500)
    assert run.returncode == 0, run.stdout + run.stderr
    record = json.loads((out / "result.json").read_text())
    assert record["exit_reason"] == "submitted" and record["submission"]["ok"], record
    measured = record["submission"]["scores"]["accuracy"]
    assert measured > 0.5  # 2,000 images are enough to learn something
    assert measured == _quick_run_here(tmp_path, data[0])  # deterministic training
