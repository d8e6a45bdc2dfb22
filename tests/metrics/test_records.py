"""Reading result records and published results; task metadata; per-task best scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgym import hookimpl
from mlgym.errors import ConfigError, MLGymError, UnknownIdError
from mlgym.plugins import MetricSpec, Registry, new_plugin_manager
from mlgym.scoring import (
    MetricResult,
    ResultRecord,
    TaskInfo,
    compute_metric,
    load_published,
    load_records,
    score_table,
    task_infos,
)

CONTRACT_EXAMPLE = {
    "schema_version": 1,
    "task": "blotto", "method": "react:openai/gpt-4o", "agent": "react", "model": "openai/gpt-4o",
    "seed": 0, "protocol": "mlgym", "backend": "bwrap",
    "evaluations": [
        {"step": 7, "action": "validate", "split": "test", "ok": True,
         "scores": {"score": 0.12}, "error": None, "time": 41.2},
        {"step": 12, "action": "submit", "split": "test", "ok": True, "scores": {"score": 0.2},
         "error": None, "time": 80.0},
    ],
    "submission": {"step": 12, "action": "submit", "split": "test", "ok": True,
                   "scores": {"score": 0.2}, "error": None, "time": 80.0},
    "exit_reason": "submitted",
    "steps": 12, "duration": 80.5, "cost": 0.031, "tokens": {"input": 12000, "output": 900},
    "action_kinds": ["view", "edit", "python", "validate", "submit"],
    "trajectory": "trajectory.json",
}
BLOTTO = TaskInfo(id="blotto", primary_metric="score", direction="maximize", baseline=-0.248)

TASK_YAML = """\
id: house-price
name: House Price
description: predict sale prices
evaluator: {command: [python, evaluate.py]}
metrics:
  - {name: r2, direction: maximize, primary: true}
  - {name: rmse, direction: minimize}
baseline: {r2: 0.88, rmse: 30340}
paper: {best: {r2: 0.931}, best_method: gpt-o1}
"""


def test_contract_example_reads_into_typed_fields():
    record = ResultRecord.from_dict(CONTRACT_EXAMPLE, "x/result.json")
    assert record.method == "react:openai/gpt-4o" and record.seed == 0 and record.cost == 0.031
    assert record.action_kinds == ("view", "edit", "python", "validate", "submit")
    assert record.attempt_score(BLOTTO) == 0.2
    assert record.submission_score(BLOTTO) == 0.2
    assert record.origin == "x/result.json"


def test_best_attempt_counts_only_successful_evaluations_on_the_split():
    data = dict(CONTRACT_EXAMPLE, protocol="strict", evaluations=[
        {"action": "validate", "split": "dev", "ok": True, "scores": {"score": 0.9}},
        {"action": "validate", "split": "test", "ok": False, "scores": {"score": 0.8}},
        {"action": "validate", "split": "test", "ok": True, "scores": {"score": 0.3}},
    ], submission={"action": "submit", "split": "test", "ok": True, "scores": {"score": 0.1}})
    record = ResultRecord.from_dict(data)
    assert record.attempt_score(BLOTTO) == 0.3  # dev and failed evaluations do not count
    assert record.attempt_score(BLOTTO, split="dev") == 0.9
    assert record.submission_score(BLOTTO) == 0.1  # the submission counts for best attempt too
    minimise = TaskInfo(id="blotto", primary_metric="score", direction="minimize")
    assert record.attempt_score(minimise) == 0.1


def test_no_submission_means_no_submission_score():
    record = ResultRecord.from_dict(dict(CONTRACT_EXAMPLE, submission=None, exit_reason="error"))
    assert record.submission_score(BLOTTO) is None
    assert record.attempt_score(BLOTTO) == 0.2


def test_malformed_records_name_the_file():
    with pytest.raises(ConfigError, match="r.json: schema_version 2 is not supported"):
        ResultRecord.from_dict(dict(CONTRACT_EXAMPLE, schema_version=2), "r.json")
    with pytest.raises(ConfigError, match="r.json: a result record needs 'task'"):
        ResultRecord.from_dict({"method": "m"}, "r.json")
    with pytest.raises(ConfigError, match="r.json: malformed"):
        ResultRecord.from_dict(dict(CONTRACT_EXAMPLE, seed="zero"), "r.json")


def test_load_records_searches_folders_and_reads_jsonl(results_dir):
    records = load_records([results_dir])
    assert len(records) == 2 * 3 * 3  # trajectory.json files are not records
    assert sum(r.origin.endswith(".jsonl:1") for r in records) == 1
    assert {r.task for r in records} == {"house-price", "blotto", "3-sat"}
    one = next(results_dir.rglob("result.json"))
    assert len(load_records([one, results_dir / "extra.jsonl"])) == 4


def test_load_records_errors_say_where_and_what(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_records([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no result.json"):
        load_records([tmp_path / "empty"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(CONTRACT_EXAMPLE) + "\n{not json\n")
    with pytest.raises(ConfigError, match=r"bad.jsonl:2: not valid JSON"):
        load_records([bad])


def test_published_file_becomes_records_and_tasks(published_file):
    published = load_published(published_file)
    assert len(published.methods) == 12 and "baseline" not in published.methods
    assert len(published.tasks) == 13
    sat = published.tasks["3-SAT"]
    assert sat.direction == "minimize" and sat.baseline == 16.158
    assert (sat.paper_best, sat.paper_best_method) == (11.894, "llama4-17b-16")
    o1 = next(r for r in published.records if r.method == "gpt-o1" and r.task == "House Price")
    assert o1.attempt_score(published.tasks["House Price"]) == 0.931
    none = next(r for r in published.records if r.method == "deepseek-r1" and r.task == "House Price")
    assert none.attempt_score(published.tasks["House Price"]) is None
    assert published.aup["baseline"]["best_attempt"] == 1.212


def test_published_file_errors(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"best_attempt": {}}))
    with pytest.raises(ConfigError, match="lacks best_submission"):
        load_published(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_published(tmp_path / "nope.json")


def _registry_with_task(tmp_path: Path) -> Registry:
    folder = tmp_path / "task"
    folder.mkdir()
    (folder / "task.yaml").write_text(TASK_YAML)

    class Plugin:
        @hookimpl
        def mlgym_tasks(self):
            return [folder / "task.yaml"]

    registry = Registry(new_plugin_manager())
    registry.register(Plugin(), name="task")
    return registry


def test_task_metadata_from_installed_task_then_published_then_error(tmp_path, published_file):
    registry = _registry_with_task(tmp_path)
    published = load_published(published_file)
    infos = task_infos(["house-price", "3-sat"], published, registry)
    installed = infos["house-price"]
    assert (installed.primary_metric, installed.baseline, installed.paper_best) == ("r2", 0.88, 0.931)
    assert infos["3-sat"].source == "published" and infos["3-sat"].direction == "minimize"
    assert infos["3-sat"].id == "3-sat"
    with pytest.raises(ConfigError, match="no metadata for task 'rocket-science'"):
        task_infos(["rocket-science"], published, registry)
    with pytest.raises(ConfigError, match="--published"):
        task_infos(["3-sat"], None, registry)


def test_score_table_takes_the_best_run_and_adds_the_baseline():
    runs = [dict(CONTRACT_EXAMPLE, seed=s, evaluations=[], submission={
        "action": "submit", "split": "test", "ok": True, "scores": {"score": v}})
        for s, v in enumerate([0.1, 0.4, 0.3])]
    other = dict(CONTRACT_EXAMPLE, task="other", method="m2", submission=None, evaluations=[])
    records = [ResultRecord.from_dict(r) for r in [*runs, other]]
    tasks = {"blotto": BLOTTO, "other": TaskInfo("other", "score", "minimize", baseline=3.0)}
    table = score_table(records, tasks, "best_submission")
    assert table["blotto"] == {"react:openai/gpt-4o": 0.4, "m2": None, "baseline": -0.248}
    assert table["other"] == {"react:openai/gpt-4o": None, "m2": None, "baseline": 3.0}


def test_compute_metric_checks_plugin_and_inputs():
    registry = Registry(new_plugin_manager())

    class Plugin:
        @hookimpl
        def mlgym_metrics(self):
            return [MetricSpec("broken", lambda records, tasks, options: {"not": "a result"}),
                    MetricSpec("count", lambda records, tasks, options: MetricResult(
                        "count", {"count": [{"method": "all", "n": len(records)}]}, "count"))]

    registry.register(Plugin(), name="p")
    record = ResultRecord.from_dict(CONTRACT_EXAMPLE)
    assert compute_metric("count", [record], {"blotto": BLOTTO}, {}, registry).tables["count"][0]["n"] == 1
    with pytest.raises(MLGymError, match="returned dict, not mlgym.scoring.MetricResult"):
        compute_metric("broken", [record], {"blotto": BLOTTO}, {}, registry)
    with pytest.raises(UnknownIdError, match="Did you mean 'count'"):
        compute_metric("cuont", [record], {"blotto": BLOTTO}, {}, registry)
    with pytest.raises(ConfigError, match="no task metadata for 'blotto'"):
        compute_metric("count", [record], {}, {}, registry)
