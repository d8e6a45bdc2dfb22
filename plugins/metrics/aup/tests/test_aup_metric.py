"""AUP on hand-made records: the definition step by step and its edge cases."""

from __future__ import annotations

import math

import mlgym_metric_aup
import pytest
from mlgym_metric_aup.profile import is_feasible, task_ratios, tau_max

from mlgym.errors import ConfigError
from mlgym.plugins import Registry, new_plugin_manager
from mlgym.scoring import ResultRecord, TaskInfo, compute_metric

UP = "maximize"
DOWN = "minimize"


def task(task_id: str, direction: str = UP, baseline: float | None = 1.0) -> TaskInfo:
    return TaskInfo(id=task_id, primary_metric="score", direction=direction, baseline=baseline)


def run(task_id: str, method: str, attempts: list[float | None], submission: float | None = None,
        seed: int = 0) -> ResultRecord:
    """An episode with validations scoring ``attempts`` and a final submission."""
    evaluations = [{"action": "validate", "split": "test", "ok": s is not None,
                    "scores": {} if s is None else {"score": s}} for s in attempts]
    final = None
    if submission is not None:
        final = {"action": "submit", "split": "test", "ok": True, "scores": {"score": submission}}
        evaluations.append(final)
    return ResultRecord.from_dict({"task": task_id, "method": method, "seed": seed,
                                   "evaluations": evaluations, "submission": final})


@pytest.fixture(scope="module")
def registry() -> Registry:
    registry = Registry(new_plugin_manager())
    registry.register(mlgym_metric_aup, name="aup")
    return registry


def aup(registry, records, tasks, **options) -> dict[str, dict]:
    result = compute_metric("aup", records, {t.id: t for t in tasks}, options, registry)
    return {row["method"]: row for row in result.tables["aup"]}, result


def grid_step(tau: float) -> float:
    return tau / 499


def test_hand_computed_two_task_example(registry):
    # t1: best 2 (A); B = 1.5 -> r 4/3; baseline 1 -> r 2; worst 2 -> ceil(2.1) = 3
    # t2: best 4 (B); A = 1 (= baseline, feasible) -> r 4; baseline -> r 4; worst 4 -> ceil 5
    # tau_max = ceil(10 log10 5 = 6.99) / 10 = 0.7
    records = [run("t1", "A", [2.0], 2.0), run("t1", "B", [1.5], 1.5),
               run("t2", "A", [1.0], 1.0), run("t2", "B", [4.0], 4.0)]
    rows, result = aup(registry, records, [task("t1"), task("t2")])
    assert result.meta["tau_max"] == 0.7
    # area under a step that starts at log10 r: tau_max - log10 r, within one grid step
    expected = {"A": (0.7 + (0.7 - math.log10(4))) / 2,
                "B": ((0.7 - math.log10(4 / 3)) + 0.7) / 2,
                "baseline": ((0.7 - math.log10(2)) + (0.7 - math.log10(4))) / 2}
    for method, value in expected.items():
        assert rows[method]["best_attempt_aup"] == pytest.approx(value, abs=grid_step(0.7))
        assert rows[method]["best_submission_aup"] == pytest.approx(value, abs=grid_step(0.7))


def test_best_attempt_and_best_submission_differ(registry):
    # A's best validation is 3 but it submits 1.5; B validates and submits 2
    records = [run("t1", "A", [3.0], 1.5), run("t1", "B", [2.0], 2.0)]
    rows, result = aup(registry, records, [task("t1")])
    assert rows["A"]["best_attempt_aup"] > rows["B"]["best_attempt_aup"]
    assert rows["A"]["best_submission_aup"] < rows["B"]["best_submission_aup"]
    ratios = {(r["kind"], r["method"]): r["ratio"] for r in result.tables["aup_ratios"]}
    assert ratios["best_attempt", "B"] == pytest.approx(1.5)
    assert ratios["best_submission", "A"] == pytest.approx(2 / 1.5)


def test_best_over_runs_of_several_seeds(registry):
    records = [run("t1", "A", [1.2], 1.2, seed=0), run("t1", "A", [2.5], 1.1, seed=1),
               run("t1", "A", [None], None, seed=2), run("t1", "B", [2.0], 2.0)]
    rows, result = aup(registry, records, [task("t1")])
    ratios = {(r["kind"], r["method"]): r["ratio"] for r in result.tables["aup_ratios"]}
    assert ratios["best_attempt", "A"] == 1.0  # 2.5 from seed 1 is the best attempt
    assert ratios["best_submission", "A"] == pytest.approx(2.0 / 1.2)  # seed 0 submitted best


def test_every_method_infeasible_but_the_baseline(registry):
    # both agents end below the baseline of 10 (one below zero): only the baseline is feasible
    records = [run("t1", "A", [5.0], 5.0), run("t1", "B", [-3.0], -3.0)]
    rows, result = aup(registry, records, [task("t1", baseline=10.0)])
    ratios = {r["method"]: r["ratio"] for r in result.tables["aup_ratios"] if r["kind"] == "best_attempt"}
    assert ratios == {"A": pytest.approx(1.05), "B": pytest.approx(1.05), "baseline": 1.0}
    assert result.meta["tau_max"] == 0.4  # ceil(1.05 x 1) = 2 -> log10 2 = 0.301 -> 0.4
    assert rows["baseline"]["best_attempt_aup"] == pytest.approx(0.4, abs=grid_step(0.4))
    assert rows["A"]["best_attempt_aup"] == pytest.approx(0.4 - math.log10(1.05), abs=grid_step(0.4))
    assert rows["A"]["best_attempt_aup"] == rows["B"]["best_attempt_aup"]


def test_no_feasible_method_at_all_is_stated(registry):
    # a negative baseline and only negative scores: no score is >= 0
    records = [run("t1", "A", [-0.5], -0.5), run("t2", "A", [3.0], 3.0)]
    rows, result = aup(registry, records, [task("t1", baseline=-1.0), task("t2")])
    ratios = {(r["task"], r["method"]): r["ratio"] for r in result.tables["aup_ratios"]
              if r["kind"] == "best_attempt"}
    assert ratios["t1", "A"] == ratios["t1", "baseline"] == pytest.approx(1.05)
    assert any("t1: no method has a feasible score" in n for n in result.notes)


def test_a_method_without_runs_on_a_task_is_infeasible_there(registry):
    records = [run("t1", "A", [2.0], 2.0), run("t1", "B", [3.0], 3.0), run("t2", "A", [2.0], 2.0)]
    rows, result = aup(registry, records, [task("t1"), task("t2")])
    ratios = {(r["task"], r["method"]): r for r in result.tables["aup_ratios"]
              if r["kind"] == "best_submission"}
    assert not ratios["t2", "B"]["feasible"]
    assert ratios["t2", "B"]["ratio"] == pytest.approx(2.0 * 1.05)  # worst feasible: baseline, 2/1
    assert any("No runs" in n and "B on t2" in n for n in result.notes)


def test_negative_scores_like_blotto(registry):
    # baseline -0.248 is itself infeasible (< 0); a negative score better than it is infeasible too
    blotto = task("blotto", baseline=-0.248)
    assert not is_feasible(-0.248, blotto)
    assert not is_feasible(-0.1, blotto)
    assert is_feasible(0.0, blotto)
    records = [run("blotto", "A", [0.5], 0.5), run("blotto", "B", [0.1], 0.1),
               run("blotto", "C", [-0.1], -0.1)]
    rows, result = aup(registry, records, [blotto])
    ratios = {r["method"]: r["ratio"] for r in result.tables["aup_ratios"] if r["kind"] == "best_attempt"}
    assert ratios["A"] == 1.0
    assert ratios["B"] == pytest.approx(5.0)
    assert ratios["C"] == ratios["baseline"] == pytest.approx(5.0 * 1.05)
    assert result.meta["tau_max"] == 0.8  # ceil(5.25) = 6 -> log10 6 = 0.778 -> 0.8


def test_minimised_metric(registry):
    # lower is better: ratio = score / best; worse than the baseline is infeasible
    records = [run("sat", "A", [12.0], 12.0), run("sat", "B", [15.0], 15.0),
               run("sat", "C", [17.0], 17.0)]
    rows, result = aup(registry, records, [task("sat", DOWN, baseline=16.0)])
    ratios = {r["method"]: r["ratio"] for r in result.tables["aup_ratios"] if r["kind"] == "best_attempt"}
    assert ratios["A"] == 1.0
    assert ratios["B"] == pytest.approx(15 / 12)
    assert ratios["baseline"] == pytest.approx(16 / 12)
    assert ratios["C"] == pytest.approx(16 / 12 * 1.05)
    assert rows["A"]["best_attempt_aup"] > rows["B"]["best_attempt_aup"] > rows["C"]["best_attempt_aup"]


def test_ties_share_the_best_ratio_and_the_same_aup(registry):
    records = [run("t1", "A", [2.0], 2.0), run("t1", "B", [2.0], 2.0), run("t2", "A", [5.0], 5.0),
               run("t2", "B", [5.0], 5.0)]
    rows, _ = aup(registry, records, [task("t1"), task("t2")])
    assert rows["A"] == {**rows["B"], "method": "A"}
    assert rows["A"]["best_attempt_aup"] > rows["baseline"]["best_attempt_aup"]


def test_single_task_and_single_method(registry):
    records = [run("t1", "A", [2.0], 2.0)]
    rows, result = aup(registry, records, [task("t1")], baseline_method=None)
    assert list(rows) == ["A"]
    # the only method is the best: ratio 1, so its profile is 1 on the whole grid
    assert result.meta["tau_max"] == 0.4
    assert rows["A"]["best_attempt_aup"] == pytest.approx(0.4)  # 499 intervals of 0.4 / 499
    assert result.profiles["best attempt"]["A"] == [(0.0, 1.0), (0.4, 1.0)]


def test_profile_steps_match_ratios(registry):
    records = [run("t1", "A", [2.0], 2.0), run("t2", "A", [1.0], 1.0), run("t2", "B", [4.0], 4.0),
               run("t1", "B", [1.5], 1.5)]
    _, result = aup(registry, records, [task("t1"), task("t2")])
    steps = result.profiles["best submission"]["A"]
    assert steps[0] == (0.0, 0.5)  # best on one of two tasks
    assert steps[1] == (pytest.approx(math.log10(4)), 1.0)
    assert steps[-1] == (0.7, 1.0)


def test_tau_max_rounds_up_to_one_decimal():
    assert tau_max([1.0]) == 0.4
    assert tau_max([9.0, 1.2]) == 1.0  # ceil(9.45) = 10 -> log10 = 1.0 exactly, not 1.1
    assert tau_max([25.04]) == 1.5


def test_zero_scores_do_not_divide_by_zero():
    t = task("t", baseline=0.0)
    ratios = task_ratios(t, {"A": 0.0, "B": 2.0})
    assert ratios.ratios["B"] == 1.0
    assert ratios.ratios["A"] == pytest.approx(1.05)  # unbounded ratio treated as infeasible
    assert ratios.notes and "unbounded" in ratios.notes[0]
    assert task_ratios(t, {"A": 0.0, "B": 0.0}).ratios == {"A": 1.0, "B": 1.0}


def test_bootstrap_intervals_over_seeds(registry):
    records = [run("t1", "A", [s], s, seed=i) for i, s in enumerate([1.5, 2.0, 3.0, 1.2])]
    records += [run("t1", "B", [2.5], 2.5, seed=i) for i in range(4)]
    records += [run("t2", "A", [2.0], 2.0), run("t2", "B", [1.5], 1.5)]
    tasks = [task("t1"), task("t2")]
    rows, result = aup(registry, records, tasks, bootstrap=200, seed=3)
    spans = {(r["method"], r["column"]): r for r in result.intervals}
    a = spans["A", "best_attempt_aup"]
    assert a["low"] <= a["value"] <= a["high"] and a["low"] < a["high"]
    assert a["value"] == rows["A"]["best_attempt_aup"]
    _, again = aup(registry, records, tasks, bootstrap=200, seed=3)
    assert again.intervals == result.intervals  # the seed makes the bootstrap reproducible
    assert any("bootstrap" in n for n in result.notes)


def test_no_records_is_a_config_error(registry):
    with pytest.raises(ConfigError, match="at least one result record"):
        compute_metric("aup", [], {}, {}, registry)
