"""The mnli task: data written from MultiNLI's format, the evaluator against hand-computed
accuracy, and the starter end to end with the offline encoder."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlgym_task_mnli import HERE, data

from mlgym.plugins import get_registry
from mlgym.testing import run_evaluator

TASK = "mnli"


@pytest.fixture
def built(tmp_path, mnli_like) -> Path:
    """The task's files written from the MNLI-like dataset into a package-like folder."""
    data.write(mnli_like, tmp_path / "package")
    return tmp_path / "package"


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_task_is_installed_with_the_papers_figure():
    task = get_registry().task(TASK)
    assert task.paper_baseline["accuracy"] == 52.51
    assert task.primary_metric.higher_is_better and task.training_commands == ("long python train.py",)
    assert [m.name for m in task.metrics] == ["accuracy"]


def test_data_hold_labels_only_for_training_and_the_evaluator(built, mnli_like):
    folder = built / "datasets/multi-nli"
    train, dev, test = (jsonl(folder / f"{n}.jsonl") for n in ("train", "dev", "test"))
    assert len(train) == 270 and len(test) == 54 and len(dev) == 45  # no-gold pairs dropped
    assert all(set(row) == {"id", "premise", "hypothesis", "genre", "label"} for row in train)
    assert all("label" not in row for row in dev + test)
    labels = {r["id"]: r["label"] for r in csv.DictReader(open(built / "hidden/test.csv"))}
    gold = [x for x in mnli_like["validation_matched"] if x["label"] >= 0]
    assert [int(labels[r["id"]]) for r in test] == [x["label"] for x in gold]
    assert [r["premise"] for r in test] == [x["premise"] for x in gold]


def test_the_written_dataset_declaration_is_valid_and_matches_the_files(built):
    declared = yaml.safe_load((built / "datasets/multi-nli/dataset.yaml").read_text())
    run = subprocess.run([sys.executable, "-m", "mlgym", "validate",
                          str(built / "datasets/multi-nli/dataset.yaml")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    from mlgym.episode.datasets import sha256_file

    for entry in declared["files"]:
        assert sha256_file(built / "datasets/multi-nli" / entry["name"]) == entry["sha256"]


def predictions(rows) -> dict[str, str]:
    return {"predictions.csv": "id,label\n" + "".join(f"{i},{label}\n" for i, label in rows)}


@pytest.fixture
def hidden(tmp_path) -> Path:
    folder = tmp_path / "hidden"
    folder.mkdir()
    (folder / "test.csv").write_text("id,label\ntest-0,0\ntest-1,1\ntest-2,2\ntest-3,2\n")
    (folder / "dev.csv").write_text("id,label\ndev-0,1\ndev-1,1\n")
    return folder


def score(files, hidden, split="test"):
    return run_evaluator(TASK, files, split=split, hidden=hidden, data_dir=hidden.parent)


def test_accuracy_is_the_percentage_of_right_labels(hidden):
    rows = [("test-0", 0), ("test-1", 1), ("test-2", 2), ("test-3", 0), ("dev-0", 0),
            ("dev-1", 1)]
    assert score(predictions(rows), hidden).scores == {"accuracy": 75.0}
    assert score(predictions(rows), hidden, "dev").scores == {"accuracy": 50.0}


def test_label_names_are_accepted(hidden):
    rows = [("test-0", "entailment"), ("test-1", "Neutral"), ("test-2", "contradiction"),
            ("test-3", "neutral")]
    assert score(predictions(rows), hidden).scores == {"accuracy": 75.0}


@pytest.mark.parametrize("rows, message", [
    ([("test-0", 0), ("test-1", 1), ("test-2", 2)], "lacks 1 of the 4 ids, e.g. test-3"),
    ([("test-0", 0), ("test-0", 1), ("test-1", 1), ("test-2", 2), ("test-3", 2)],
     "test-0 is predicted twice"),
    ([("test-0", 3), ("test-1", 1), ("test-2", 2), ("test-3", 2)], "label '3' is not"),
], ids=["missing", "twice", "unknown-label"])
def test_a_bad_submission_fails_with_a_message(hidden, rows, message):
    run = score(predictions(rows), hidden)
    assert run.scores is None and message in run.failure(), run.stderr


def test_a_missing_file_says_how_to_make_it(hidden):
    run = score({"notes.txt": "nothing"}, hidden)
    assert run.scores is None and "predictions.csv not found" in run.failure()


def test_the_starter_fine_tunes_the_offline_encoder_and_is_scored(tmp_path, built):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "train.py").write_text((HERE / "starter/train.py").read_text())
    (workspace / "data").symlink_to(built / "datasets/multi-nli")
    env = {**os.environ, "TRAIN_EXAMPLES": "64", "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "train.py"], cwd=workspace, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "64 training pairs" in run.stdout
    scores = run_evaluator(TASK, workspace, hidden=built / "hidden", data_dir=built).scores
    assert scores is not None and 0.0 <= scores["accuracy"] <= 100.0
