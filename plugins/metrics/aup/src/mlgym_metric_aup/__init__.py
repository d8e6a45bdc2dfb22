"""The ``aup`` metric: performance profiles and AUP exactly as the MLGym paper defines them.

Options (besides ``bootstrap``, ``seed`` and ``split``): ``tau_max`` (override the grid's end),
``grid_points`` (default 500), ``baseline_method`` (name of the baseline row, default
``"baseline"``).
"""

from __future__ import annotations

import math
from typing import Any

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
from mlgym_metric_aup.profile import GRID_POINTS, ProfileSet, compute_profiles

__all__ = ["compute", "mlgym_metrics"]

TITLES = {"best_attempt": "best attempt", "best_submission": "best submission"}


def compute(records: list[ResultRecord], tasks: dict[str, TaskInfo],
            options: dict[str, Any]) -> MetricResult:
    """AUP of every method for best attempts and best submissions, with profiles and ratios."""
    if not records:
        raise ConfigError("the aup metric needs at least one result record")
    split = options.get("split", "test")
    baseline = options.get("baseline_method", BASELINE_METHOD)
    points = int(options.get("grid_points", GRID_POINTS))

    def tables(rs: list[ResultRecord]) -> dict[str, Any]:
        return {kind: score_table(rs, tasks, kind, split, baseline) for kind in TABLE_KINDS}

    def summary(rs: list[ResultRecord], tau: float | None = None) -> list[dict[str, Any]]:
        sets = compute_profiles(tables(rs), tasks, tau, points)
        return [{"method": m, **{f"{k}_aup": sets[k].aup[m] for k in TABLE_KINDS}}
                for m in sets["best_attempt"].methods]

    profiles = compute_profiles(tables(records), tasks, options.get("tau_max"), points)
    tau = float(profiles["best_attempt"].grid[-1])
    result = MetricResult(
        metric="aup",
        tables={"aup": summary(records, tau), "aup_ratios": _ratio_rows(profiles),
                "aup_tasks": _task_rows(profiles)},
        summary="aup",
        directions={f"{k}_aup": "maximize" for k in TABLE_KINDS},
        profiles={TITLES[k]: profiles[k].steps() for k in TABLE_KINDS},
        notes=_notes(records, profiles, tasks, baseline),
        meta={"tau_max": tau, "grid_points": points, "methods": profiles["best_attempt"].methods,
              "tasks": list(profiles["best_attempt"].ratios)},
    )
    add_intervals(result, records, lambda rs: summary(rs, tau), options)
    if result.intervals:
        result.notes.append("The tau grid is held fixed across bootstrap replicates.")
    return result


def _ratio_rows(profiles: dict[str, ProfileSet]) -> list[dict[str, Any]]:
    rows = []
    for kind, pset in profiles.items():
        for task, tr in pset.ratios.items():
            for method, ratio in tr.ratios.items():
                rows.append({"kind": kind, "task": task, "method": method,
                             "feasible": tr.feasible[method], "ratio": ratio,
                             "log10_ratio": math.log10(ratio)})
    return rows


def _task_rows(profiles: dict[str, ProfileSet]) -> list[dict[str, Any]]:
    return [{"kind": kind, "task": task, "best_method": tr.best_method or "", "best_score": tr.best_score,
             "worst_feasible_ratio": tr.worst_ratio, "infeasible_ratio": tr.infeasible_ratio,
             "feasible_methods": sum(tr.feasible.values())}
            for kind, pset in profiles.items() for task, tr in pset.ratios.items()]


def _notes(records: list[ResultRecord], profiles: dict[str, ProfileSet],
           tasks: dict[str, TaskInfo], baseline: str) -> list[str]:
    first = profiles["best_attempt"]
    methods = [m for m in first.methods if m != baseline]
    task_ids = list(first.ratios)
    notes = [f"Comparator set: AUP compares {len(first.methods)} methods ({', '.join(methods)}"
             f"{' and ' + baseline if baseline in first.methods else ''}) on {len(task_ids)} "
             f"tasks ({', '.join(task_ids)}). Every value depends on this set: adding or removing "
             "a method can change the best score of a task and so every method's ratios.",
             f"Grid: {len(first.grid)} points of tau from 0 to {first.grid[-1]:g}; a score is "
             "feasible when it exists, is >= 0 and is not worse than the task's baseline; an "
             "infeasible one gets 1.05 x the task's worst feasible ratio."]
    ran = {(r.task, r.method) for r in records}
    absent = [f"{m} on {t}" for t in task_ids for m in methods if (t, m) not in ran]
    if absent:
        notes.append(f"No runs (counted as infeasible): {', '.join(absent)}.")
    no_baseline = [t for t in task_ids if tasks[t].baseline is None]
    if no_baseline:
        notes.append(f"No baseline score for {', '.join(no_baseline)}: feasibility there only "
                     "asks for a score >= 0.")
    for kind, pset in profiles.items():
        for tr in pset.ratios.values():
            notes.extend(f"{TITLES[kind]}: {n}" for n in tr.notes)
    return notes


@hookimpl
def mlgym_metrics() -> list[MetricSpec]:
    return [MetricSpec("aup", compute, "performance profiles and AUP (best attempt and best "
                                       "submission), as in the MLGym paper")]
