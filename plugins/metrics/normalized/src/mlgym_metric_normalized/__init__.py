"""The ``normalized`` metric: mean normalised improvement over the baseline across tasks.

On each task a score becomes ``(score - baseline) / (reference - baseline)``: 0 is the
baseline, 1 is the reference, whatever the metric's scale or direction (for a metric to
minimise both differences are negative). The reference is the task's best published score,
or a value given in ``options["reference"]`` (``{task id: value}``).

Options (besides ``bootstrap``, ``seed`` and ``split``):
``reference`` as above; ``missing``: ``"baseline"`` (default: a method without a valid score
on a task counts as 0, as if it had kept the baseline) or ``"skip"`` (leave the task out of
that method's mean).
"""

from __future__ import annotations

import math
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

__all__ = ["compute", "normalized_improvement", "mlgym_metrics"]

MISSING_POLICIES = ("baseline", "skip")


def normalized_improvement(score: float, baseline: float, reference: float) -> float:
    """``(score - baseline) / (reference - baseline)``; the reference must differ from the baseline."""
    return (score - baseline) / (reference - baseline)


def references(tasks: dict[str, TaskInfo], given: dict[str, float]) -> tuple[dict[str, float], list[str]]:
    """The reference of every usable task, and a sentence for each task that cannot be used."""
    usable, skipped = {}, []
    for task_id, task in tasks.items():
        reference = given.get(task_id, task.paper_best)
        if task.baseline is None:
            skipped.append(f"{task_id} (no baseline score)")
        elif reference is None:
            skipped.append(f"{task_id} (no published best; give a reference value)")
        elif reference == task.baseline:
            skipped.append(f"{task_id} (reference equals the baseline)")
        else:
            usable[task_id] = float(reference)
    return usable, skipped


def compute(records: list[ResultRecord], tasks: dict[str, TaskInfo],
            options: dict[str, Any]) -> MetricResult:
    """Per-task normalised improvement and its mean and median over tasks, per method."""
    if not records:
        raise ConfigError("the normalized metric needs at least one result record")
    missing = options.get("missing", "baseline")
    if missing not in MISSING_POLICIES:
        raise ConfigError(f"normalized: missing={missing!r}; use one of {', '.join(MISSING_POLICIES)}")
    split = options.get("split", "test")
    given = {k: float(v) for k, v in (options.get("reference") or {}).items()}
    unknown = sorted(set(given) - set(tasks))
    if unknown:
        raise ConfigError(f"normalized: reference given for unknown task(s) {', '.join(unknown)}; "
                          f"known tasks: {', '.join(sorted(tasks))}")
    refs, skipped = references({t: tasks[t] for t in dict.fromkeys(r.task for r in records)}, given)
    if not refs:
        raise ConfigError("normalized: no task has both a baseline and a reference that differ: "
                          + "; ".join(skipped))

    def per_task(rs: list[ResultRecord]) -> list[dict[str, Any]]:
        rows = []
        for kind in TABLE_KINDS:
            for task_id, scores in score_table(rs, tasks, kind, split, BASELINE_METHOD).items():
                if task_id not in refs:
                    continue
                base = tasks[task_id].baseline
                for method, score in scores.items():
                    value = None if score is None else normalized_improvement(score, base, refs[task_id])
                    rows.append({"kind": kind, "task": task_id, "method": method, "score": score,
                                 "baseline": base, "reference": refs[task_id], "normalized": value})
        return rows

    def summary(rs: list[ResultRecord]) -> list[dict[str, Any]]:
        return _summary(per_task(rs), missing)

    rows = per_task(records)
    result = MetricResult(
        metric="normalized",
        tables={"normalized": _summary(rows, missing), "normalized_tasks": rows},
        summary="normalized",
        directions={f"{k}_{s}": "maximize" for k in TABLE_KINDS for s in ("mean", "median")},
        notes=_notes(rows, refs, skipped, missing, options),
        meta={"tasks": list(refs), "missing": missing},
    )
    add_intervals(result, records, summary, options)
    return result


def _summary(rows: list[dict[str, Any]], missing: str) -> list[dict[str, Any]]:
    values: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        value = row["normalized"]
        if value is None:
            if missing == "skip":
                continue
            value = 0.0
        values.setdefault(row["method"], {k: [] for k in TABLE_KINDS})[row["kind"]].append(value)
    out = []
    for method, by_kind in values.items():
        entry: dict[str, Any] = {"method": method}
        for kind in TABLE_KINDS:
            v = by_kind[kind]
            entry[f"{kind}_mean"] = float(np.mean(v)) if v else math.nan
            entry[f"{kind}_median"] = float(np.median(v)) if v else math.nan
        entry["tasks"] = len(by_kind["best_submission"])
        out.append(entry)
    return out


def _notes(rows: list[dict[str, Any]], refs: dict[str, float], skipped: list[str], missing: str,
           options: dict[str, Any]) -> list[str]:
    given = set(options.get("reference") or {})
    notes = ["Normalised improvement = (score - baseline) / (reference - baseline): 0 is the "
             "baseline, 1 the reference. References: "
             + ", ".join(f"{t} {v:g} ({'given' if t in given else 'published best'})"
                         for t, v in refs.items()) + "."]
    if skipped:
        notes.append("Left out: " + "; ".join(skipped) + ".")
    absent = sorted({f"{r['method']} on {r['task']}" for r in rows if r["normalized"] is None})
    if absent:
        policy = "counted as 0, the baseline" if missing == "baseline" else "left out of the mean"
        notes.append(f"No valid score ({policy}): {', '.join(absent)}.")
    extreme = sorted({f"{r['method']} on {r['task']}" for r in rows
                      if r["normalized"] is not None and r["normalized"] < -10})
    if extreme:
        notes.append(f"Far below the baseline (< -10), dominating the mean; read the median: "
                     f"{', '.join(extreme)}.")
    return notes


@hookimpl
def mlgym_metrics() -> list[MetricSpec]:
    return [MetricSpec("normalized", compute, "mean normalised improvement: (score - baseline) / "
                                              "(reference - baseline), reference = published best")]
