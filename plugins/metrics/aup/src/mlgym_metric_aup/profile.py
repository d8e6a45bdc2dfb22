"""Performance profiles and the area under them (AUP), as defined by the MLGym paper.

Everything here works on score tables ``{task: {method: score or None}}`` (one table for best
attempts, one for best submissions), so the definition can be read and tested without records:

1. A score is *feasible* when it exists, is finite, is >= 0 and is not worse than the task's
   baseline in the metric's direction.
2. On each task the best feasible score defines the ratio of every feasible method:
   ``best / score`` when higher is better, ``score / best`` when lower is better (so r >= 1).
   Every infeasible method gets ``1.05 x`` the task's worst feasible ratio.
3. ``tau_max`` is log10 of the largest ``ceil(1.05 x worst ratio)`` over all tasks of all tables,
   rounded up to one decimal; the grid has 500 evenly spaced points from 0 to ``tau_max``.
4. The profile of a method is the share of tasks with ``log10 r <= tau``; its AUP is the left
   Riemann sum of the profile over the grid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from mlgym.scoring import TaskInfo

GRID_POINTS = 500
INFEASIBLE_FACTOR = 1.05

ScoreTable = Mapping[str, Mapping[str, float | None]]


def is_feasible(score: float | None, task: TaskInfo) -> bool:
    """Exists, finite, non-negative and not worse than the task's baseline."""
    if score is None or not math.isfinite(score) or score < 0:
        return False
    return task.baseline is None or not task.better(task.baseline, score)


@dataclass
class TaskRatios:
    """The performance ratios of every method on one task."""

    task: str
    ratios: dict[str, float]
    feasible: dict[str, bool]
    best_method: str | None
    best_score: float | None
    worst_ratio: float  # worst finite feasible ratio; 1.0 when no method is feasible
    notes: list[str] = field(default_factory=list)

    @property
    def infeasible_ratio(self) -> float:
        return self.worst_ratio * INFEASIBLE_FACTOR


def task_ratios(task: TaskInfo, scores: Mapping[str, float | None]) -> TaskRatios:
    """Ratios of every method in ``scores`` on ``task`` (steps 1 and 2 of the definition)."""
    feasible = {m: s for m, s in scores.items() if is_feasible(s, task)}
    flags = {m: m in feasible for m in scores}
    if not feasible:
        note = (f"{task.id}: no method has a feasible score, so every method gets ratio "
                f"{INFEASIBLE_FACTOR} and the task does not separate them")
        return TaskRatios(task.id, dict.fromkeys(scores, INFEASIBLE_FACTOR), flags, None, None, 1.0,
                          [note])
    best_score = task.best(feasible.values())
    best_method = next(m for m, s in feasible.items() if s == best_score)
    ratios = {m: _ratio(best_score, s, task.maximize) for m, s in feasible.items()}
    notes = []
    unbounded = [m for m, r in ratios.items() if not math.isfinite(r)]
    if unbounded:  # a zero score against a non-zero best: the ratio has no finite value
        notes.append(f"{task.id}: {', '.join(unbounded)} scored 0 against a best of {best_score}; "
                     "an unbounded ratio is treated as infeasible")
    worst = max(r for r in ratios.values() if math.isfinite(r))
    result = {m: ratios.get(m, math.inf) for m in scores}
    result = {m: r if math.isfinite(r) else worst * INFEASIBLE_FACTOR for m, r in result.items()}
    return TaskRatios(task.id, result, flags, best_method, best_score, worst, notes)


def _ratio(best: float, score: float, maximize: bool) -> float:
    numerator, denominator = (best, score) if maximize else (score, best)
    if numerator == denominator:
        return 1.0
    return numerator / denominator if denominator != 0 else math.inf


def tau_max(worst_ratios: list[float]) -> float:
    """log10 of the largest ceil(1.05 x worst ratio), rounded up to one decimal."""
    ceiling = max(math.ceil(w * INFEASIBLE_FACTOR) for w in worst_ratios)
    # round() first so that an exact tenth (log10 of 10 = 1.0) is not pushed up by float noise
    return math.ceil(round(math.log10(ceiling) * 10, 9)) / 10


@dataclass
class ProfileSet:
    """Ratios, profiles and AUP of one score table on a fixed tau grid."""

    ratios: dict[str, TaskRatios]
    methods: list[str]
    grid: np.ndarray
    rho: np.ndarray  # (grid points, methods): share of tasks with log10 r <= tau
    aup: dict[str, float]

    def steps(self) -> dict[str, list[tuple[float, float]]]:
        """Each method's profile as the corners of a step curve from 0 to tau_max."""
        tasks = list(self.ratios)
        end = float(self.grid[-1])
        curves = {}
        for method in self.methods:
            logs = np.array([math.log10(self.ratios[t].ratios[method]) for t in tasks])
            share = [(float(x), float(np.mean(logs <= x))) for x in sorted(set(logs)) if 0 < x <= end]
            curves[method] = [(0.0, float(np.mean(logs <= 0))), *share, (end, float(np.mean(logs <= end)))]
        return curves


def profile_set(table: ScoreTable, tasks: Mapping[str, TaskInfo], grid: np.ndarray) -> ProfileSet:
    """Ratios of every task in ``table`` and each method's profile and AUP on ``grid``."""
    ratios = {t: task_ratios(tasks[t], scores) for t, scores in table.items()}
    methods = list(dict.fromkeys(m for scores in table.values() for m in scores))
    logs = np.array([[math.log10(ratios[t].ratios[m]) for m in methods] for t in table])
    rho = (logs[None, :, :] <= grid[:, None, None]).mean(axis=1)
    area = (rho[:-1] * np.diff(grid)[:, None]).sum(axis=0)
    return ProfileSet(ratios, methods, grid, rho, {m: float(a) for m, a in zip(methods, area, strict=True)})


def compute_profiles(tables: Mapping[str, ScoreTable], tasks: Mapping[str, TaskInfo],
                     tau: float | None = None, points: int = GRID_POINTS) -> dict[str, ProfileSet]:
    """Profiles and AUP of each named table on one shared grid (``tau`` overrides tau_max)."""
    if tau is None:
        worst = [task_ratios(tasks[t], s).worst_ratio for table in tables.values() for t, s in table.items()]
        tau = tau_max(worst)
    grid = np.linspace(0.0, tau, points)
    return {name: profile_set(table, tasks, grid) for name, table in tables.items()}
