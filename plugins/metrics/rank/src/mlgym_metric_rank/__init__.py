"""The ``rank`` metric: mean rank and Borda count of methods across tasks.

On each task the methods (the baseline included) are ranked by their score in the metric's
direction: rank 1 is the best, tied methods share the mean of their ranks, and methods without a
valid score tie for last. A method's Borda points on a task are the number of methods it beats
plus half the number it ties with (``n_methods - rank``); its Borda count is their sum over tasks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlgym import hookimpl
from mlgym.errors import ConfigError
from mlgym.plugins import MetricSpec
from mlgym.scoring import (
    BASELINE_METHOD,
    TABLE_KINDS,
    MetricResult,
    ResultRecord,
    TaskInfo,
    add_intervals,
    score_table,
)

__all__ = ["compute", "ranks", "mlgym_metrics"]


def ranks(scores: dict[str, float | None], task: TaskInfo) -> dict[str, float]:
    """Rank of each method on one task (1 = best; ties share the mean rank; missing = last)."""
    def badness(score: float | None) -> float:
        if score is None:
            return np.inf
        return -score if task.maximize else score

    keys = {m: badness(s) for m, s in scores.items()}
    # rank = 1 + number strictly better + half the number tied (others)
    return {m: 1 + sum(o < k for o in keys.values()) + (sum(o == k for o in keys.values()) - 1) / 2
            for m, k in keys.items()}


def compute(records: list[ResultRecord], tasks: dict[str, TaskInfo],
            options: dict[str, Any]) -> MetricResult:
    """Per-task ranks, and each method's mean rank and Borda count, for both score kinds."""
    if not records:
        raise ConfigError("the rank metric needs at least one result record")
    split = options.get("split", "test")

    def per_task(rs: list[ResultRecord]) -> list[dict[str, Any]]:
        rows = []
        for kind in TABLE_KINDS:
            for task_id, scores in score_table(rs, tasks, kind, split, BASELINE_METHOD).items():
                n = len(scores)
                for method, rank in ranks(dict(scores), tasks[task_id]).items():
                    rows.append({"kind": kind, "task": task_id, "method": method,
                                 "score": scores[method], "rank": rank, "borda": n - rank})
        return rows

    def summary(rs: list[ResultRecord]) -> list[dict[str, Any]]:
        return _summary(per_task(rs))

    rows = per_task(records)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    task_ids = list(dict.fromkeys(r["task"] for r in rows))
    result = MetricResult(
        metric="rank",
        tables={"rank": _summary(rows), "rank_tasks": rows},
        summary="rank",
        directions={**{f"{k}_mean_rank": "minimize" for k in TABLE_KINDS},
                    **{f"{k}_borda": "maximize" for k in TABLE_KINDS}},
        notes=[f"Ranks among {len(methods)} methods ({', '.join(methods)}) on {len(task_ids)} "
               "tasks; rank 1 is best, ties share the mean rank, a method without a valid score "
               "ties for last. Borda count: per task, methods beaten plus half the ties, summed "
               f"(at most {(len(methods) - 1) * len(task_ids)})."],
        meta={"methods": methods, "tasks": task_ids},
    )
    add_intervals(result, records, summary, options)
    return result


def _summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_method: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        by_method.setdefault(row["method"], {k: [] for k in TABLE_KINDS})[row["kind"]].append(row)
    out = []
    for method, by_kind in by_method.items():
        entry: dict[str, Any] = {"method": method}
        for kind in TABLE_KINDS:
            entry[f"{kind}_mean_rank"] = float(np.mean([r["rank"] for r in by_kind[kind]]))
        for kind in TABLE_KINDS:
            entry[f"{kind}_borda"] = float(sum(r["borda"] for r in by_kind[kind]))
        out.append(entry)
    return out


@hookimpl
def mlgym_metrics() -> list[MetricSpec]:
    return [MetricSpec("rank", compute, "mean rank and Borda count across tasks")]
