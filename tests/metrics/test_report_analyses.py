"""The report's run analyses (failed/incomplete rates, how episodes ended, action counts, costs)
on a small set of records whose every figure is worked out by hand below."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mlgym.scoring import ResultRecord, analyses, build_report
from mlgym.scoring.tables import write_csv


def ev(action: str, ok: bool, step: int) -> dict:
    return {"step": step, "action": action, "split": "test", "ok": ok,
            "scores": {"score": 0.5} if ok else None, "error": None if ok else "failed", "time": 1.0}


def rec(method, task, seed, *, exit_reason=None, submission=None, state=None, error_kind=None,
        cost=None, kinds=()) -> ResultRecord:
    data = {"task": task, "method": method, "seed": seed, "exit_reason": exit_reason,
            "submission": submission, "evaluations": [submission] if submission else [],
            "error_kind": error_kind, "cost": cost, "steps": len(kinds), "action_kinds": list(kinds),
            "tokens": {"input": 100 * len(kinds), "output": 10 * len(kinds)}}
    if state:
        data["state"] = state
    return ResultRecord.from_dict(data)


# method A: submitted | max_steps, auto-submission scored | model error | interrupted
# method B: strict submit that failed | format error | store says running | store says failed
RECORDS = [
    rec("A", "t1", 0, exit_reason="submitted", submission=ev("submit", True, 4), cost=0.10,
        kinds=["view", "python", "validate", "submit"]),
    rec("A", "t1", 1, exit_reason="max_steps", submission=ev("auto_submit", True, 3), cost=0.20,
        kinds=["edit", "python", "bash"]),
    rec("A", "t2", 0, exit_reason="error", error_kind="model", cost=0.05, kinds=["view"]),
    rec("A", "t2", 1, exit_reason="interrupted", submission=ev("auto_submit", True, 1), cost=0.01,
        kinds=["bash"]),
    rec("B", "t1", 0, exit_reason="submitted", submission=ev("submit", False, 2), cost=0.02,
        kinds=["python", "submit"]),
    rec("B", "t1", 1, exit_reason="format_error", submission=ev("auto_submit", True, 1), cost=0.03,
        kinds=["edit"]),
    rec("B", "t2", 0, state="running"),
    rec("B", "t2", 1, state="failed"),
]


def by(rows, *keys):
    return {tuple(r[k] for k in keys): r for r in rows}


def test_each_episode_falls_in_one_end_category_and_outcome():
    assert [analyses.end_category(r) for r in RECORDS] == [
        "submitted", "limit", "model_error", "interrupted",
        "evaluation_error", "format_error", "unfinished", "runtime_error"]
    assert [analyses.outcome(r) for r in RECORDS] == [
        "complete", "incomplete", "failed", "incomplete", "failed", "failed", "incomplete", "failed"]


def test_failed_and_incomplete_rates_per_method_and_pooled():
    rows = by(analyses.outcome_rows(RECORDS, "method"), "method")
    assert list(rows) == [("A",), ("B",), ("all",)]
    assert {k: rows["A",][k] for k in ("episodes", "failed", "incomplete", "complete")} == \
        {"episodes": 4, "failed": 1, "incomplete": 2, "complete": 1}
    assert rows["A",]["failed_rate"] == 0.25 and rows["A",]["incomplete_rate"] == 0.5
    assert (rows["B",]["failed"], rows["B",]["incomplete"], rows["B",]["complete"]) == (3, 1, 0)
    assert rows["B",]["failed_rate"] == 0.75
    assert (rows["all",]["episodes"], rows["all",]["failed"], rows["all",]["incomplete"]) == (8, 4, 3)
    assert rows["all",]["failed_rate"] == 0.5 and rows["all",]["complete_rate"] == 0.125


def test_failed_and_incomplete_rates_per_task():
    rows = by(analyses.outcome_rows(RECORDS, "task"), "task")
    assert (rows["t1",]["complete"], rows["t1",]["incomplete"], rows["t1",]["failed"]) == (1, 1, 2)
    assert (rows["t2",]["complete"], rows["t2",]["incomplete"], rows["t2",]["failed"]) == (0, 2, 2)
    assert rows["t2",]["incomplete_rate"] == 0.5


def test_end_categories_per_method_and_task_with_shares():
    rows = by(analyses.end_rows(RECORDS, "method"), "method", "category")
    assert {c for m, c in rows if m == "A"} == {"submitted", "limit", "model_error", "interrupted"}
    assert {c for m, c in rows if m == "B"} == {"evaluation_error", "format_error", "unfinished",
                                                "runtime_error"}
    assert rows["A", "limit"]["count"] == 1 and rows["A", "limit"]["share"] == 0.25
    assert rows["all", "model_error"]["count"] == 1 and rows["all", "model_error"]["share"] == 0.125
    tasks = by(analyses.end_rows(RECORDS, "task"), "task", "category")
    assert tasks["t1", "evaluation_error"]["count"] == 1 and tasks["t1", "submitted"]["share"] == 0.25
    assert ("t1", "runtime_error") not in tasks and tasks["t2", "runtime_error"]["count"] == 1


def test_action_counts_and_shares_per_method_and_pooled():
    rows = by(analyses.action_rows(RECORDS), "method", "kind")
    assert {k: r["count"] for (m, k), r in rows.items() if m == "A"} == \
        {"view": 2, "python": 2, "validate": 1, "submit": 1, "edit": 1, "bash": 2}
    assert rows["A", "view"]["share"] == pytest.approx(2 / 9)
    assert {k: r["count"] for (m, k), r in rows.items() if m == "B"} == \
        {"python": 1, "submit": 1, "edit": 1}
    assert rows["all", "python"]["count"] == 3 and rows["all", "python"]["share"] == 0.25
    assert sum(r["count"] for (m, _), r in rows.items() if m == "all") == 12


def test_action_counts_per_step():
    rows = by(analyses.action_step_rows(RECORDS), "method", "step", "kind")
    first = {k: r["count"] for (m, s, k), r in rows.items() if m == "all" and s == 1}
    assert first == {"view": 2, "edit": 2, "bash": 1, "python": 1}
    assert rows["all", 2, "python"]["count"] == 2
    assert rows["all", 2, "python"]["share"] == pytest.approx(2 / 3)
    assert rows["all", 2, "submit"]["share"] == pytest.approx(1 / 3)
    assert max(s for _, s, _ in rows) == 4  # the longest episode
    assert rows["A", 4, "submit"]["share"] == 1.0


def test_cost_table_per_method_with_published_costs():
    rows = by(analyses.cost_rows(RECORDS, {"paper-method": {"mean": 1.5, "total": 78.0}}), "method")
    a = rows["A",]
    assert a["episodes"] == 4 and a["total_cost"] == pytest.approx(0.36)
    assert a["mean_cost"] == pytest.approx(0.09) and a["cost_per_task"] == pytest.approx(0.18)
    assert a["cost_per_step"] == pytest.approx(0.04)
    assert (a["input_tokens"], a["output_tokens"]) == (900, 90)
    b = rows["B",]  # the store's running and failed episodes have no cost yet
    assert b["episodes"] == 2 and b["mean_cost"] == pytest.approx(0.025)
    assert rows["paper-method",]["source"] == "published"
    assert rows["paper-method",]["mean_cost"] == 1.5 and rows["paper-method",]["total_cost"] == 78.0


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_report_shows_published_costs_in_the_table_and_on_the_cost_plot(results_dir, published_file,
                                                                        tmp_path):
    data = json.loads(published_file.read_text())
    data["cost"] = {"gpt-o1": {"mean": 0.5, "total": 26.0}, "gpt4o2": 0.1}
    published = tmp_path / "published-with-costs.json"
    published.write_text(json.dumps(data))
    report = build_report([results_dir], tmp_path / "out", published=published, metrics=["aup"],
                          bootstrap=0)
    out = report.out
    costs = {r["method"]: r for r in read_csv(out / "costs.csv")}
    assert costs["gpt-o1"]["source"] == "published" and float(costs["gpt-o1"]["mean_cost"]) == 0.5
    assert float(costs["gpt4o2"]["mean_cost"]) == 0.1
    assert costs["react:model-a"]["source"] == "yours"
    assert "deepseek-r1" not in costs  # no published cost: not made up
    assert (out / "aup_cost.png") in report.files
    points = read_csv(out / "aup_cost.csv")
    aup = {r["method"]: r for r in read_csv(out / "aup.csv")}
    plotted = {(p["method"], p["column"]): p for p in points}
    assert {m for m, _ in plotted} == {"react:model-a", "react:model-b", "gpt-o1", "gpt4o2"}
    o1 = plotted["gpt-o1", "best_attempt_aup"]
    assert float(o1["mean_cost"]) == 0.5
    assert float(o1["value"]) == pytest.approx(float(aup["gpt-o1"]["best_attempt_aup"]))
    markdown = (out / "report.md").read_text()
    assert "| gpt-o1 | published |" in markdown and "aup_cost.png" in markdown


def test_report_without_published_costs_says_so(results_dir, published_file, tmp_path):
    report = build_report([results_dir], tmp_path / "out", published=published_file,
                          metrics=["aup"], bootstrap=0)
    points = read_csv(report.out / "aup_cost.csv")
    assert {p["method"] for p in points} == {"react:model-a", "react:model-b"}
    assert "gives no costs for its methods" in (report.out / "report.md").read_text()


def test_report_tables_of_a_store_with_unfinished_episodes(tmp_path):
    lines = [json.dumps({"task": "t1", "method": "A", "seed": 0, "state": "running"}),
             json.dumps({"task": "t1", "method": "A", "seed": 1, "exit_reason": "submitted",
                         "submission": ev("submit", True, 2), "evaluations": [],
                         "action_kinds": ["python", "submit"], "cost": 0.2, "steps": 2})]
    results = tmp_path / "store.jsonl"
    results.write_text("\n".join(lines) + "\n")
    published = tmp_path / "tasks.json"  # task metadata for t1
    published.write_text(json.dumps({"best_attempt": {"t1": {"baseline": 0.1}},
                                     "best_submission": {"t1": {"baseline": 0.1}}}))
    report = build_report([results], tmp_path / "out", published=published, metrics=["aup"],
                          bootstrap=0)
    outcomes = {r["method"]: r for r in read_csv(report.out / "outcomes.csv")}
    assert (outcomes["A"]["complete"], outcomes["A"]["incomplete"], outcomes["A"]["failed"]) == \
        ("1", "1", "0")
    ends = {r["category"]: r["count"] for r in read_csv(report.out / "end_categories.csv")}
    assert ends == {"submitted": "1", "unfinished": "1"}
    markdown = (report.out / "report.md").read_text()
    assert "| A | 2 | 0 (0%) | 1 (50%) | 1 (50%) |" in markdown


def test_write_csv_round_trips_the_rows(tmp_path):
    rows = analyses.outcome_rows(RECORDS, "task")
    back = read_csv(write_csv(tmp_path / "o.csv", rows))
    assert [r["task"] for r in back] == ["t1", "t2", "all"]
    assert float(back[2]["failed_rate"]) == 0.5
