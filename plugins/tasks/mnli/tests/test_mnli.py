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
from mlgym_task_mnli import HERE, data

from mlgym.plugins import get_registry
from mlgym.testing import check_task_env, run_evaluator

TASK = "mnli"


@pytest.fixture
def built(tmp_path, mnli_like) -> Path:
    """The dataset's files exported from the MNLI-like dataset."""
    folder = tmp_path / "exported"
    folder.mkdir()
    data.export(mnli_like, folder)
    return folder


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_task_is_installed_with_the_papers_figure():
    task = get_registry().task(TASK)
    assert task.paper_baseline["accuracy"] == 52.51
    assert task.primary_metric.higher_is_better
    assert task.training_commands == ("long python train.py",)
    assert [m.name for m in task.metrics] == ["accuracy"]


def test_the_export_keeps_labels_for_training_and_hides_the_others(built, mnli_like):
    train, dev, test = (jsonl(built / f"{n}.jsonl") for n in ("train", "dev", "test"))
    assert len(train) == 270 and len(test) == 54 and len(dev) == 45  # no-gold pairs left out
    assert all(set(row) == {"id", "premise", "hypothesis", "genre", "label"} for row in train)
    assert all("label" not in row for row in dev + test)
    labels = {r["id"]: r["label"] for r in csv.DictReader(open(built / "test_labels.csv"))}
    gold = [x for x in mnli_like["validation_matched"] if x["label"] >= 0]
    assert [int(labels[r["id"]]) for r in test] == [x["label"] for x in gold]
    assert [r["premise"] for r in test] == [x["premise"] for x in gold]


def hub_repo(mirror: Path, dataset) -> None:
    """``nyu-mll/multi_nli`` as the hub lays it out: parquet shards and a README naming them."""
    repo = mirror / "nyu-mll/multi_nli"
    files = ""
    for split, rows in dataset.items():
        (repo / "data").mkdir(parents=True, exist_ok=True)
        rows.to_parquet(str(repo / f"data/{split}-00000-of-00001.parquet"))
        files += f"  - split: {split}\n    path: data/{split}-*\n"
    (repo / "README.md").write_text(f"---\nconfigs:\n- config_name: default\n"
                                    f"  data_files:\n{files}---\n")


def test_the_dataset_materialises_from_the_hub_with_its_labels_hidden(tmp_path, monkeypatch,
                                                                     mnli_like):
    from mlgym.episode.datasets import hidden_folder, materialise

    monkeypatch.setenv("MLGYM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLGYM_HF_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_repo(tmp_path / "mirror", mnli_like)
    folder = materialise(get_registry().get("datasets", "multi-nli"))
    assert sorted(p.name for p in folder.glob("*.jsonl")) == ["dev.jsonl", "test.jsonl",
                                                              "train.jsonl"]
    assert not list(folder.glob("*labels*"))
    hidden = hidden_folder(folder)
    assert sorted(p.name for p in hidden.iterdir()) == ["dev_labels.csv", "test_labels.csv"]
    assert len(jsonl(folder / "test.jsonl")) == 54


def test_the_environment_passes_check_env(tmp_path, monkeypatch, mnli_like):
    """Gymnasium's checker on the task's environment over data made in the hub's format: nothing
    raised, no warning but the one that no render fps is declared (MLGym does not render)."""
    monkeypatch.setenv("MLGYM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLGYM_HF_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_repo(tmp_path / "mirror", mnli_like)
    check_task_env(TASK)


def predictions(rows) -> dict[str, str]:
    return {"predictions.csv": "id,label\n" + "".join(f"{i},{label}\n" for i, label in rows)}


@pytest.fixture
def hidden(tmp_path) -> Path:
    """A data folder as the evaluator sees it, with the hidden labels of four and two pairs."""
    labels = tmp_path / "data/_hidden/multi-nli"
    labels.mkdir(parents=True)
    (labels / "test_labels.csv").write_text("id,label\ntest-0,0\ntest-1,1\ntest-2,2\ntest-3,2\n")
    (labels / "dev_labels.csv").write_text("id,label\ndev-0,1\ndev-1,1\n")
    return tmp_path / "data"


def score(files, data_dir, split="test"):
    return run_evaluator(TASK, files, split=split, data_dir=data_dir)


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
    (workspace / "data").symlink_to(built)
    env = {**os.environ, "TRAIN_EXAMPLES": "64", "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "train.py"], cwd=workspace, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "64 training pairs" in run.stdout
    data_dir = tmp_path / "data"
    (data_dir / "_hidden").mkdir(parents=True)
    (data_dir / "_hidden/multi-nli").symlink_to(built)
    scores = run_evaluator(TASK, workspace, data_dir=data_dir).scores
    assert scores is not None and 0.0 <= scores["accuracy"] <= 100.0
