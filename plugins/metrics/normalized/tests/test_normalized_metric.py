"""Mean normalised improvement on hand-made records."""

from __future__ import annotations

import mlgym_metric_normalized
import pytest

from mlgym.errors import ConfigError
from mlgym.plugins import Registry, new_plugin_manager
from mlgym.scoring import ResultRecord, TaskInfo, compute_metric


def task(task_id: str, direction: str = "maximize", baseline: float | None = 1.0,
         best: float | None = 3.0) -> TaskInfo:
    return TaskInfo(id=task_id, primary_metric="score", direction=direction, baseline=baseline,
                    paper_best=best)


def run(task_id: str, method: str, score: float | None, seed: int = 0,
        attempt: float | None = None) -> ResultRecord:
    def evaluation(action: str, value: float | None) -> dict:
        return {"action": action, "split": "test", "ok": value is not None,
                "scores": {} if value is None else {"score": value}}

    attempts = [evaluation("validate", attempt)] if attempt is not None else []
    final = evaluation("submit", score)
    return ResultRecord.from_dict({"task": task_id, "method": method, "seed": seed,
                                   "evaluations": [*attempts, final], "submission": final})


@pytest.fixture(scope="module")
def registry() -> Registry:
    registry = Registry(new_plugin_manager())
    registry.register(mlgym_metric_normalized, name="normalized")
    return registry


def compute(registry, records, tasks, **options):
    result = compute_metric("normalized", records, {t.id: t for t in tasks}, options, registry)
    return {r["method"]: r for r in result.tables["normalized"]}, result


def test_both_directions_map_baseline_to_zero_and_reference_to_one(registry):
    tasks = [task("up", baseline=1.0, best=3.0), task("down", "minimize", baseline=10.0, best=5.0)]
    records = [run("up", "A", 2.0), run("down", "A", 7.5), run("up", "B", 3.0), run("down", "B", 10.0)]
    rows, result = compute(registry, records, tasks)
    assert rows["A"]["best_submission_mean"] == pytest.approx(0.5)  # both tasks halfway
    assert rows["B"]["best_submission_mean"] == pytest.approx(0.5)  # 1 and 0
    assert rows["B"]["best_submission_median"] == pytest.approx(0.5)
    assert rows["baseline"]["best_submission_mean"] == 0.0
    per_task = {(r["kind"], r["task"], r["method"]): r["normalized"]
                for r in result.tables["normalized_tasks"]}
    assert per_task["best_submission", "down", "A"] == pytest.approx(0.5)


def test_best_attempt_uses_the_best_validation(registry):
    rows, _ = compute(registry, [run("up", "A", 2.0, attempt=3.0)], [task("up")])
    assert rows["A"]["best_attempt_mean"] == pytest.approx(1.0)
    assert rows["A"]["best_submission_mean"] == pytest.approx(0.5)


def test_user_reference_overrides_the_published_best(registry):
    rows, result = compute(registry, [run("up", "A", 2.0)], [task("up")], reference={"up": 5.0})
    assert rows["A"]["best_submission_mean"] == pytest.approx(0.25)
    assert "up 5 (given)" in result.notes[0]


def test_missing_scores_count_as_baseline_or_are_skipped(registry):
    records = [run("up", "A", 3.0), run("up2", "A", None)]
    tasks = [task("up"), task("up2")]
    rows, result = compute(registry, records, tasks)
    assert rows["A"]["best_submission_mean"] == pytest.approx(0.5)  # (1 + 0) / 2
    assert any("A on up2" in n and "counted as 0" in n for n in result.notes)
    rows, _ = compute(registry, records, tasks, missing="skip")
    assert rows["A"]["best_submission_mean"] == pytest.approx(1.0)
    assert rows["A"]["tasks"] == 1


def test_tasks_without_reference_are_left_out_and_said_so(registry):
    tasks = [task("up"), task("noref", best=None), task("flat", best=1.0)]
    records = [run("up", "A", 2.0), run("noref", "A", 9.0), run("flat", "A", 9.0)]
    rows, result = compute(registry, records, tasks)
    assert rows["A"]["tasks"] == 1
    left_out = next(n for n in result.notes if n.startswith("Left out"))
    assert "noref (no published best" in left_out and "flat (reference equals the baseline)" in left_out


def test_nothing_usable_or_bad_options_are_config_errors(registry):
    with pytest.raises(ConfigError, match="no task has both a baseline and a reference"):
        compute(registry, [run("x", "A", 2.0)], [task("x", best=None)])
    with pytest.raises(ConfigError, match="unknown task"):
        compute(registry, [run("up", "A", 2.0)], [task("up")], reference={"nope": 1.0})
    with pytest.raises(ConfigError, match="missing="):
        compute(registry, [run("up", "A", 2.0)], [task("up")], missing="zero")


def test_outliers_are_flagged_and_the_median_stays_readable(registry):
    records = [run("a", "A", 2.0), run("b", "A", 2.0), run("c", "A", -1e9)]
    rows, result = compute(registry, records, [task("a"), task("b"), task("c")])
    assert rows["A"]["best_submission_mean"] < -1e8
    assert rows["A"]["best_submission_median"] == pytest.approx(0.5)
    assert any("A on c" in n and "median" in n for n in result.notes)


def test_bootstrap_intervals_cover_the_point(registry):
    records = [run("up", "A", s, seed=i) for i, s in enumerate([1.5, 2.0, 3.0])]
    rows, result = compute(registry, records, [task("up")], bootstrap=100, seed=1)
    span = next(r for r in result.intervals
                if r["method"] == "A" and r["column"] == "best_submission_mean")
    # the best submission over 3 seeds is 3.0 (1.0); resamples without it are lower
    assert span["value"] == pytest.approx(1.0)
    assert span["low"] < span["value"] == span["high"]
