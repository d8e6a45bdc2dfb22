"""build_report in-process: tables, figures and Markdown from generated records and published ones."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import mlgym_metric_aup
import mlgym_metric_normalized
import mlgym_metric_rank
import pytest
from PIL import Image

from mlgym import hookimpl
from mlgym.errors import ConfigError
from mlgym.plugins import Registry, new_plugin_manager
from mlgym.scoring import build_report

TASK_YAML = """\
id: house-price
name: House Price
description: predict sale prices
evaluator: {command: [python, evaluate.py]}
metrics: [{name: score, direction: maximize}]
baseline: {score: 0.9}
"""


def registry(tmp_path: Path | None = None) -> Registry:
    """The three first-party metrics, and optionally an installed task "house-price"."""
    reg = Registry(new_plugin_manager())
    for module in (mlgym_metric_aup, mlgym_metric_normalized, mlgym_metric_rank):
        reg.register(module, name=module.__name__)
    if tmp_path is not None:
        (tmp_path / "task").mkdir(exist_ok=True)
        (tmp_path / "task" / "task.yaml").write_text(TASK_YAML)

        class Tasks:
            @hookimpl
            def mlgym_tasks(self):
                return [tmp_path / "task" / "task.yaml"]

        reg.register(Tasks(), name="tasks")
    return reg


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_report_beside_published_methods(tmp_path, results_dir, published_file):
    out = tmp_path / "report"
    report = build_report([results_dir], out, published=published_file, bootstrap=100, seed=2,
                          registry=registry())
    expected = ["report.md", "scores.csv", "runs.csv", "exit_reasons.csv", "action_kinds.csv",
                "aup.csv", "aup_ci.csv", "aup_ratios.csv", "normalized.csv", "normalized_ci.csv",
                "rank.csv", "rank_ci.csv", "aup_profiles.png", "aup_bars.png", "aup_cost.png",
                "normalized_bars.png", "rank_bars.png", "exit_reasons.png", "action_kinds.png",
                "action_kinds_by_step.png"]
    for name in expected:
        assert (out / name).is_file(), name
    for png in out.glob("*.png"):
        with Image.open(png) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 200

    aup = read_csv(out / "aup.csv")
    assert list(aup[0]) == ["method", "best_attempt_aup", "best_submission_aup"]
    methods = [row["method"] for row in aup]
    assert methods[:2] == ["react:model-a", "react:model-b"] and methods[-1] == "baseline"
    assert "gpt-o1" in methods and len(methods) == 15

    # published tasks are matched to the user's task ids; the others are left out and said so
    scores = read_csv(out / "scores.csv")
    assert {row["task"] for row in scores} == {"house-price", "blotto", "3-sat"}
    o1 = next(r for r in scores if r["task"] == "house-price" and r["method"] == "gpt-o1")
    assert (o1["source"], o1["best_submission"], o1["runs"]) == ("published", "0.931", "0")
    mine = next(r for r in scores if r["task"] == "3-sat" and r["method"] == "react:model-b")
    assert (mine["runs"], mine["paper_best"], mine["direction"]) == ("3", "11.894", "minimize")
    markdown = (out / "report.md").read_text()
    assert "Published tasks without results of your own are left out" in markdown
    assert "MNLI" in markdown and "Comparator set: AUP compares 15 methods" in markdown
    assert "gpt-o1 †" in markdown and "react:model-a †" not in markdown
    for image in ("aup_profiles.png", "aup_cost.png", "action_kinds_by_step.png"):
        assert f"]({image})" in markdown

    # seeds give user methods real intervals; a published method has one "run" per task, but its
    # AUP still moves with the resampled best scores of the others (the comparator set)
    spans = {(r["method"], r["column"]): r for r in read_csv(out / "aup_ci.csv")}
    for method in ("react:model-a", "gpt-o1"):
        span = spans[method, "best_submission_aup"]
        assert float(span["low"]) <= float(span["value"]) <= float(span["high"])
    a = spans["react:model-a", "best_submission_aup"]
    assert float(a["low"]) < float(a["high"])
    runs = {r["method"]: r for r in read_csv(out / "runs.csv")}
    assert runs["react:model-a"]["runs"] == "9" and float(runs["react:model-a"]["mean_cost"]) > 0
    assert report.results["aup"].meta["methods"] == methods

    # how episodes ended and what the agents did, counted here from the records themselves
    records = raw_records(results_dir)
    reasons = Counter((r["method"], r["exit_reason"]) for r in records)
    assert {(r["method"], r["exit_reason"]): int(r["count"])
            for r in read_csv(out / "exit_reasons.csv")} == reasons
    kinds = Counter((r["method"], k) for r in records for k in r["action_kinds"])
    kinds.update(("all", k) for r in records for k in r["action_kinds"])
    table = read_csv(out / "action_kinds.csv")
    assert {(r["method"], r["kind"]): int(r["count"]) for r in table} == kinds
    for method in ("react:model-a", "all"):
        assert sum(float(r["share"]) for r in table if r["method"] == method) == pytest.approx(1)


def raw_records(results_dir: Path) -> list[dict]:
    """The result records as written: ``result.json`` files and ``.jsonl`` lines."""
    records = [json.loads(p.read_text()) for p in results_dir.rglob("result.json")]
    for path in results_dir.glob("*.jsonl"):
        records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records


def test_published_only_report_has_every_published_task(tmp_path, published_file):
    out = tmp_path / "paper"
    report = build_report([], out, published=published_file, bootstrap=50, registry=registry())
    assert len(report.tasks) == 13
    assert not (out / "runs.csv").exists() and not (out / "exit_reasons.png").exists()
    assert not (out / "aup_ci.csv").exists()  # one figure per method and task: nothing to resample
    markdown = (out / "report.md").read_text()
    assert "Published results only: 12 methods" in markdown and "†" not in markdown
    assert "No confidence intervals" in markdown


def test_installed_task_metadata_wins_over_published(tmp_path, results_dir, published_file):
    report = build_report([results_dir], tmp_path / "r", published=published_file, bootstrap=0,
                          metrics=["aup"], registry=registry(tmp_path))
    assert report.tasks["house-price"].baseline == 0.9  # from task.yaml, not the paper's 0.88
    assert report.tasks["blotto"].baseline == -0.248
    scores = read_csv(tmp_path / "r" / "scores.csv")
    assert {r["baseline"] for r in scores if r["task"] == "house-price"} == {"0.9"}


def test_metric_that_cannot_be_computed(tmp_path, results_dir):
    only_house = [p for p in results_dir.rglob("result.json") if "house-price" in p.parts]
    # the installed task has no published best, so normalised improvement has no reference
    report = build_report(only_house, tmp_path / "r", bootstrap=0, registry=registry(tmp_path))
    assert "normalized" in report.skipped and "aup" in report.results
    assert "## Metrics not computed" in (tmp_path / "r" / "report.md").read_text()
    with pytest.raises(ConfigError, match="no published best"):
        build_report(only_house, tmp_path / "r2", bootstrap=0, metrics=["normalized"],
                     registry=registry(tmp_path))
    report = build_report(only_house, tmp_path / "r3", bootstrap=0, metrics=["normalized"],
                          options={"reference": {"house-price": 0.95}}, registry=registry(tmp_path))
    assert report.results["normalized"].tables["normalized"]


def test_nothing_to_report(tmp_path):
    with pytest.raises(ConfigError, match="nothing to report"):
        build_report([], tmp_path / "r", registry=registry())


def test_user_method_named_like_a_published_one(tmp_path, results_dir, published_file):
    for path in results_dir.rglob("result.json"):
        path.write_text(path.read_text().replace("react:model-a", "gpt-o1"))
    (results_dir / "extra.jsonl").unlink()
    report = build_report([results_dir], tmp_path / "r", published=published_file, bootstrap=0,
                          metrics=["aup"], registry=registry())
    methods = report.results["aup"].meta["methods"]
    assert "gpt-o1" in methods and "gpt-o1 (paper)" in methods
