"""The house-price task: its data and splits, the baseline, and every way a submission fails."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlgym_task_house_price.scripts import make_splits

from mlgym.cli import main as mlgym_main
from mlgym.plugins import get_registry
from mlgym.testing import EvaluatorRun, run_evaluator

TASK_ID = "house-price"
SPLIT_FILES = ("train.csv", "validation.csv", "test.csv")


@pytest.fixture(scope="module")
def registry():
    return get_registry(refresh=True)


@pytest.fixture(scope="module")
def task(registry):
    return registry.task(TASK_ID)


@pytest.fixture(scope="module")
def split_dataset(registry):
    return registry.get("datasets", "house-prices-ames-split")


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def labels(task) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for row in rows(task.hidden_dir / "labels.csv"):
        out.setdefault(row["split"], {})[row["Id"]] = float(row["SalePrice"])
    return out


def make_workspace(tmp_path: Path, task, split_dataset) -> Path:
    """A workspace laid out as MLGym lays it out: the starter code plus the split data in data/."""
    workspace = tmp_path / "workspace"
    shutil.copytree(task.starter_dir, workspace)
    (workspace / "data").mkdir()
    for name in SPLIT_FILES:
        shutil.copy(split_dataset.root / name, workspace / "data" / name)
    return workspace


def write_submission(workspace: Path, lines: list[str]) -> None:
    (workspace / "submission.csv").write_text("\n".join(lines) + "\n")


def metrics_of(result: EvaluatorRun) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_task_is_installed_with_its_metrics_and_paper_figures(task):
    assert task.primary_metric.name == "r2" and task.primary_metric.higher_is_better
    assert not task.metric("rmse").higher_is_better
    assert task.paper_baseline == {"r2": 0.88, "rmse": 30340} and task.paper_best["r2"] == 0.931
    assert set(task.splits) == {"dev", "test"} and task.submission_files == ("submission.csv",)
    assert mlgym_main(["validate", str(Path(__file__).parents[1])]) == 0


def test_only_the_split_data_is_mounted_and_it_holds_no_test_label(task, split_dataset):
    assert task.datasets == (("house-prices-ames-split", "data"),)
    test_columns = rows(split_dataset.root / "test.csv")[0].keys()
    assert "SalePrice" not in test_columns and "Id" in test_columns
    visible = {p.name for d in (task.starter_dir, task.evaluator_dir, split_dataset.root)
               for p in d.rglob("*")}
    assert "labels.csv" not in visible


def test_split_files_match_their_declared_checksums(split_dataset):
    for entry in split_dataset.files:
        data = (split_dataset.root / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["size"]


def test_splits_are_70_10_20_disjoint_and_labels_cover_validation_and_test(task, split_dataset):
    ids = {name: [r["Id"] for r in rows(split_dataset.root / name)] for name in SPLIT_FILES}
    assert [len(ids[n]) for n in SPLIT_FILES] == [1022, 146, 292]
    assert len(set().union(*ids.values())) == 1460
    hidden = labels(task)
    assert set(hidden["test"]) == set(ids["test.csv"])
    assert set(hidden["validation"]) == set(ids["validation.csv"])
    public = {r["Id"]: float(r["SalePrice"]) for r in rows(split_dataset.root / "validation.csv")}
    assert public == hidden["validation"]


def test_regenerating_from_the_raw_kaggle_file_reproduces_every_shipped_file():
    try:
        raw = make_splits.raw_train_csv()
    except make_splits.RawDataMissing as exc:
        pytest.skip(str(exc))
    for path, data in make_splits.make_splits(raw).items():
        assert path.read_bytes() == data, path


def test_split_is_a_fixed_function_of_the_seed():
    ids = [str(i) for i in range(1, 1461)]
    first, again = make_splits.split_ids(ids), make_splits.split_ids(ids)
    assert first == again and make_splits.split_ids(ids, seed=1) != first
    assert [len(first[s]) for s in ("train", "validation", "test")] == [1022, 146, 292]


def predictions(path: Path) -> dict[str, float]:
    return {r["Id"]: float(r["SalePrice"]) for r in rows(path)}


def test_the_shipped_starter_submission_scores_the_declared_baseline(task, split_dataset,
                                                                      tmp_path):
    workspace = make_workspace(tmp_path, task, split_dataset)
    metrics = metrics_of(run_evaluator(task, workspace))
    assert metrics["r2"] == pytest.approx(task.baseline["r2"], abs=5e-5)
    assert metrics["rmse"] == pytest.approx(task.baseline["rmse"], abs=1.0)
    assert metrics_of(run_evaluator(task, workspace, split="dev"))["r2"] > metrics["r2"]
    # the same figures from their textbook formulas, on the hidden test labels
    truth, guess = labels(task)["test"], predictions(workspace / "submission.csv")
    errors = [(truth[h] - guess[h]) ** 2 for h in truth]
    mean = sum(truth.values()) / len(truth)
    spread = sum((y - mean) ** 2 for y in truth.values())
    assert 1 - sum(errors) / spread == pytest.approx(metrics["r2"], abs=5e-5)
    assert math.sqrt(sum(errors) / len(errors)) == pytest.approx(metrics["rmse"], abs=1.0)


@pytest.mark.slow
def test_running_baseline_py_reproduces_the_shipped_submission(task, split_dataset, tmp_path):
    import sklearn  # noqa: F401  (of the package's test extra; baseline.py needs it)

    workspace = make_workspace(tmp_path, task, split_dataset)
    shipped = predictions(workspace / "submission.csv")
    (workspace / "submission.csv").unlink()
    for _ in range(2):  # twice: the baseline is deterministic
        subprocess.run([sys.executable, "baseline.py"], cwd=workspace, check=True,
                       capture_output=True, timeout=600)
        fresh = predictions(workspace / "submission.csv")
        assert fresh.keys() == shipped.keys()
        assert all(fresh[h] == pytest.approx(shipped[h], rel=1e-6) for h in shipped)
    metrics = metrics_of(run_evaluator(task, workspace))
    assert metrics["r2"] == pytest.approx(task.baseline["r2"], abs=5e-5)


def test_scores_are_r2_and_rmse_of_the_scored_split(task, split_dataset, tmp_path):
    workspace = make_workspace(tmp_path, task, split_dataset)
    truth = labels(task)
    write_submission(workspace, ["Id,SalePrice"] + [f"{h},{y}" for h, y in truth["test"].items()])
    assert metrics_of(run_evaluator(task, workspace)) == {"r2": 1.0, "rmse": 0.0}
    rng = random.Random(0)
    guesses = {h: y + rng.gauss(0, 20000) for h, y in truth["test"].items()}
    write_submission(workspace, ["Id,SalePrice"] + [f"{h}.0,{p}" for h, p in guesses.items()])
    metrics = metrics_of(run_evaluator(task, workspace))
    y = list(truth["test"].values())
    residual = sum((guesses[h] - v) ** 2 for h, v in truth["test"].items())
    mean = sum(y) / len(y)
    assert metrics["r2"] == pytest.approx(1 - residual / sum((v - mean) ** 2 for v in y))
    assert metrics["rmse"] == pytest.approx((residual / len(y)) ** 0.5)


def broken_submissions(truth: dict[str, dict[str, float]]) -> dict[str, tuple[list[str], str]]:
    test = [f"{h},{y}" for h, y in truth["test"].items()]
    first = next(iter(truth["test"]))
    header = ["Id,SalePrice"]
    return {
        "wrong columns": (["id,price"] + test, "must have exactly the columns Id,SalePrice"),
        "extra column": (["Id,SalePrice,Note"] + [f"{r},x" for r in test], "header is"),
        "missing id": (header + test[1:], f"lacks 1 of the 292 test houses, e.g. Id {first}"),
        "unknown id": (header + test + ["99999,1"], "neither test nor validation houses: 99999"),
        "repeated id": (header + test + [test[0]], f"Id {first} appears more than once"),
        "nan": (header + [f"{first},nan"] + test[1:], "no NaN or inf"),
        "empty value": (header + [f"{first},"] + test[1:], "SalePrice '' is not a number"),
        "not an id": (header + ["abc,1"] + test, "Id 'abc' is not a house id"),
        "empty file": ([""], "submission.csv is empty"),
    }


@pytest.mark.parametrize("case", ["wrong columns", "extra column", "missing id", "unknown id",
                                  "repeated id", "nan", "empty value", "not an id", "empty file"])
def test_a_broken_submission_fails_with_a_message(task, split_dataset, tmp_path, case):
    workspace = make_workspace(tmp_path, task, split_dataset)
    lines, message = broken_submissions(labels(task))[case]
    (workspace / "submission.csv").write_text("\n".join(lines) + ("\n" if lines[0] else ""))
    result = run_evaluator(task, workspace)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_a_missing_submission_and_an_unknown_split_fail_with_a_message(task, split_dataset,
                                                                      tmp_path):
    workspace = make_workspace(tmp_path, task, split_dataset)
    (workspace / "submission.csv").unlink()
    assert "submission.csv not found" in run_evaluator(task, workspace).stderr
    assert "unknown split 'train'" in run_evaluator(task, workspace, split="train").stderr


def test_dev_scores_validation_rows_and_needs_them(task, split_dataset, tmp_path):
    workspace = make_workspace(tmp_path, task, split_dataset)
    truth = labels(task)
    write_submission(workspace, ["Id,SalePrice"] + [f"{h},{y}" for h, y in truth["test"].items()])
    assert metrics_of(run_evaluator(task, workspace))["r2"] == 1.0
    result = run_evaluator(task, workspace, split="dev")
    assert result.returncode != 0
    assert "lacks 146 of the 146 validation houses" in result.stderr
    both = {**truth["test"], **{h: y + 1000 for h, y in truth["validation"].items()}}
    write_submission(workspace, ["Id,SalePrice"] + [f"{h},{y}" for h, y in both.items()])
    assert metrics_of(run_evaluator(task, workspace, split="dev"))["rmse"] == pytest.approx(1000)
    assert metrics_of(run_evaluator(task, workspace))["rmse"] == 0.0
