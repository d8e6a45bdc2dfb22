"""Which episodes go into an export: where trajectories are found, and the filters.

Sources are trajectory files, folders searched for ``trajectory.json``, and ``mlgym bench`` run
folders (or their ``bench.sqlite``), of which only the episodes the store has as ``done`` are
taken (an interrupted attempt's partial trajectory is not), in any mix. Trajectories are read only through
:func:`mlgym.agents.trajectory.load`, so every version it reads is exported.

``split`` decides which evaluations count, for the score filters and in the records themselves:
``dev`` (the default) uses only dev-split evaluations and withholds every test-split result from
the records (the observation showing it, its reward, its scores), so under the ``strict``
protocol no test-set signal reaches training data; ``test`` uses only test-split evaluations;
``any`` uses both and withholds nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mlgym.agents import trajectory as trajectories
from mlgym.bench.store import STORE_FILE, RunStore
from mlgym.errors import ConfigError

SPLITS = ("dev", "test", "any")


@dataclass(frozen=True)
class Selection:
    """The filters of an export; ``None`` lets everything through."""

    tasks: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    exit_reasons: tuple[str, ...] | None = None
    min_score: float | None = None  # primary metric: at least this good, in its direction
    top_k: int | None = None  # per task, by score
    split: str = "dev"

    def __post_init__(self):
        if self.split not in SPLITS:
            raise ConfigError(f"split {self.split!r}: give one of {', '.join(SPLITS)}")
        if self.top_k is not None and self.top_k < 1:
            raise ConfigError(f"top_k={self.top_k}: give a positive number")

    def counts(self, evaluation: dict) -> bool:
        """Whether an evaluation's result may be used and shown under this selection."""
        return self.split == "any" or evaluation.get("split") == self.split

    @property
    def scored(self) -> bool:
        return self.min_score is not None or self.top_k is not None


def find_trajectories(sources: Iterable[str | Path]) -> list[Path]:
    """Every trajectory file named or found under the folders named, in a stable order."""
    found: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_file() and path.name == STORE_FILE:
            path = path.parent
        if path.is_dir() and RunStore.is_run(path):
            found.extend(bench_trajectories(path))
        elif path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(p for p in path.rglob(trajectories.TRAJECTORY_FILE)
                                if not any(part.startswith(".") for part in p.relative_to(path).parts)))
        else:
            raise ConfigError(f"{path}: no such file or folder")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise ConfigError(f"no {trajectories.TRAJECTORY_FILE} found in: "
                          + ", ".join(str(s) for s in sources))
    return unique


def bench_trajectories(run_dir: Path) -> list[Path]:
    """The trajectories of a benchmark run's finished episodes, in run order."""
    store = RunStore(run_dir)
    try:
        rows = store.episodes("done")
    finally:
        store.close()
    paths = [run_dir / "episodes" / row.key / trajectories.TRAJECTORY_FILE for row in rows]
    return [p for p in paths if p.is_file()]


@dataclass
class Episode:
    """A trajectory picked for export, with the score it was picked by."""

    path: Path
    data: dict
    score: float | None  # best primary-metric score among the evaluations that count

    @property
    def id(self) -> str:
        data = self.data
        return f"{data['run_id']}/{data['task']}/{data['method']}/seed{data['seed']}"


def select(paths: Iterable[Path], selection: Selection) -> list[Episode]:
    """The episodes of ``paths`` that pass ``selection``, best first within each task."""
    episodes = []
    for path in paths:
        data = trajectories.load(path)
        if selection.tasks and data["task"] not in selection.tasks:
            continue
        if selection.methods and data["method"] not in selection.methods:
            continue
        if selection.exit_reasons and data["exit_reason"] not in selection.exit_reasons:
            continue
        episodes.append(Episode(path, data, None))
    if not episodes:
        return []
    directions = _directions({e.data["task"] for e in episodes}, required=selection.scored)
    for episode in episodes:
        episode.score = best_score(episode.data, selection, *directions[episode.data["task"]])
    if selection.min_score is not None:
        episodes = [e for e in episodes if e.score is not None
                    and _at_least(e.score, selection.min_score, directions[e.data["task"]][1])]
    by_task: dict[str, list[Episode]] = {}
    for episode in episodes:
        by_task.setdefault(episode.data["task"], []).append(episode)
    picked = []
    for task, group in by_task.items():
        lower = directions[task][1] == "minimize"
        scored = sorted((e for e in group if e.score is not None), key=lambda e: e.score,
                        reverse=not lower)
        if selection.top_k is not None:
            picked.extend(scored[: selection.top_k])
        else:
            picked.extend(scored + [e for e in group if e.score is None])
    return picked


def best_score(data: dict, selection: Selection, metric: str | None,
               direction: str) -> float | None:
    """The best value of the primary metric among the evaluations that count."""
    values = []
    for evaluation in data.get("evaluations") or []:
        if not evaluation.get("ok") or not selection.counts(evaluation):
            continue
        scores = evaluation.get("scores") or {}
        value = scores.get(metric) if metric else (next(iter(scores.values()), None)
                                                   if len(scores) == 1 else None)
        if isinstance(value, (int, float)) and math.isfinite(value):
            values.append(float(value))
    if not values:
        return None
    return min(values) if direction == "minimize" else max(values)


def _at_least(value: float, threshold: float, direction: str) -> bool:
    return value <= threshold if direction == "minimize" else value >= threshold


def _directions(tasks: set[str], required: bool) -> dict[str, tuple[str | None, str]]:
    """Each task's primary metric and its direction, from the installed task."""
    from mlgym.plugins.registry import get_registry

    out: dict[str, tuple[str | None, str]] = {}
    registry = get_registry()
    for task in tasks:
        try:
            spec = registry.task(task)
        except Exception:
            if required:
                raise ConfigError(f"task {task!r} is not installed: a score filter needs its "
                                  "primary metric and direction; install the task or drop "
                                  "--min-score / --top-k") from None
            out[task] = (None, "maximize")
            continue
        metric = spec.primary_metric
        out[task] = (metric.name, metric.direction)
    return out


def iter_withheld_steps(data: dict, selection: Selection) -> Iterator[int]:
    """The steps whose evaluation must not be shown under ``selection``."""
    for evaluation in data.get("evaluations") or []:
        if not selection.counts(evaluation) and evaluation.get("step") is not None:
            yield int(evaluation["step"])
