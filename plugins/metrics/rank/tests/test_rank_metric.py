"""Mean rank and Borda count on hand-made records."""

from __future__ import annotations

import mlgym_metric_rank
import pytest
from mlgym_metric_rank import ranks

from mlgym.plugins import Registry, new_plugin_manager
from mlgym.scoring import ResultRecord, TaskInfo, compute_metric


def task(task_id: str, direction: str = "maximize", baseline: float | None = 1.0) -> TaskInfo:
    return TaskInfo(id=task_id, primary_metric="score", direction=direction, baseline=baseline)


def run(task_id: str, method: str, score: float | None, seed: int = 0) -> ResultRecord:
    final = {"action": "submit", "split": "test", "ok": score is not None,
             "scores": {} if score is None else {"score": score}}
    return ResultRecord.from_dict({"task": task_id, "method": method, "seed": seed,
                                   "evaluations": [final], "submission": final})


@pytest.fixture(scope="module")
def registry() -> Registry:
    registry = Registry(new_plugin_manager())
    registry.register(mlgym_metric_rank, name="rank")
    return registry


def test_ranks_with_ties_missing_and_direction():
    up = task("up")
    assert ranks({"A": 3.0, "B": 2.0, "C": 2.0, "D": None}, up) == {"A": 1, "B": 2.5, "C": 2.5, "D": 4}
    down = task("down", "minimize")
    assert ranks({"A": 3.0, "B": 2.0, "C": None, "D": None}, down) == {"A": 2, "B": 1, "C": 3.5, "D": 3.5}


def test_mean_rank_and_borda_across_tasks(registry):
    tasks = {"up": task("up"), "down": task("down", "minimize", baseline=10.0)}
    records = [run("up", "A", 3.0), run("up", "B", 2.0), run("down", "A", 9.0), run("down", "B", 5.0)]
    result = compute_metric("rank", records, tasks, {}, registry)
    rows = {r["method"]: r for r in result.tables["rank"]}
    # up: A 1, B 2, baseline 3; down: B 1, A 2, baseline 3
    assert rows["A"]["best_submission_mean_rank"] == 1.5
    assert rows["B"]["best_submission_mean_rank"] == 1.5
    assert rows["baseline"]["best_submission_mean_rank"] == 3.0
    assert rows["A"]["best_submission_borda"] == 3.0  # beats 2 on up, 1 on down
    assert rows["baseline"]["best_submission_borda"] == 0.0
    assert result.directions["best_submission_mean_rank"] == "minimize"
    assert result.directions["best_submission_borda"] == "maximize"
    assert "at most 4" in result.notes[0]


def test_ties_split_borda_points(registry):
    records = [run("up", "A", 2.0), run("up", "B", 2.0)]
    result = compute_metric("rank", records, {"up": task("up")}, {}, registry)
    rows = {r["method"]: r for r in result.tables["rank"]}
    assert rows["A"]["best_submission_borda"] == rows["B"]["best_submission_borda"] == 1.5
    assert rows["A"]["best_submission_mean_rank"] == 1.5


def test_method_without_runs_ranks_last(registry):
    records = [run("t1", "A", 2.0), run("t1", "B", 3.0), run("t2", "A", 0.5)]
    result = compute_metric("rank", records, {"t1": task("t1"), "t2": task("t2")}, {}, registry)
    per_task = {(r["kind"], r["task"], r["method"]): r["rank"] for r in result.tables["rank_tasks"]}
    assert per_task["best_submission", "t2", "B"] == 3  # no runs: below A (0.5) and the baseline
    assert per_task["best_submission", "t2", "baseline"] == 1


def test_bootstrap_intervals(registry):
    records = [run("t1", "A", s, seed=i) for i, s in enumerate([0.5, 3.0, 0.7, 0.6])]
    records += [run("t1", "B", 2.0, seed=i) for i in range(4)]
    result = compute_metric("rank", records, {"t1": task("t1")}, {"bootstrap": 200}, registry)
    span = next(r for r in result.intervals
                if r["method"] == "A" and r["column"] == "best_submission_mean_rank")
    assert span["value"] == 1.0  # seed 1 scored 3.0
    assert span["low"] == 1.0 and span["high"] == 3.0  # resamples without seed 1 rank A last
