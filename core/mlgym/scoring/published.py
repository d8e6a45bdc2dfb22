"""Published results (per-task scores of methods from a paper) and where task metadata comes from.

:func:`load_published` reads a file in the format of ``mlgym-published-results.json`` into
records and tasks that every metric accepts; :func:`task_infos` finds the metadata of the tasks
that result records name: the installed task first, then the published file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlgym.errors import ConfigError
from mlgym.scoring.metrics import (
    BASELINE_METHOD,
    TABLE_KINDS,
    Evaluation,
    ResultRecord,
    TaskInfo,
    parse_json,
)


@dataclass
class Published:
    """Published per-task scores of several methods, as records, with their tasks and AUP, and
    the methods' costs where the file gives them (``{method: {"mean": USD per episode,
    "total": USD, "per_task": USD}}``, any of the three)."""

    path: Path
    records: list[ResultRecord]
    tasks: dict[str, TaskInfo]
    aup: dict[str, dict[str, float]]
    costs: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(r.method for r in self.records))


BUILTIN = {"mlgym-bench": Path(__file__).parent / "data" / "mlgym-bench-published.json"}
"""Published results shipped with the core: the MLGym paper's 13 methods on MLGym-Bench."""


def load_published(path: str | Path) -> Published:
    """Read a file of published results (the format of ``mlgym-published-results.json``).

    Each method's best-attempt and best-submission scores on a task become one record whose
    evaluations hold the best attempt and whose submission is the best submission; the
    ``baseline`` column becomes the task's baseline.
    """
    path = BUILTIN.get(str(path), Path(path))
    if not path.is_file():
        raise ConfigError(f"published results file {path} does not exist; pass a file in the format of "
                          f"mlgym-published-results.json or one of the shipped names: {', '.join(BUILTIN)}")
    data = parse_json(path.read_text(encoding="utf-8"), str(path))
    missing = [k for k in TABLE_KINDS if not isinstance(data.get(k), dict)]
    if missing:
        raise ConfigError(f"{path}: not a published-results file: it lacks {', '.join(missing)} "
                          "(objects mapping task -> method -> score)")
    directions = data.get("metric_direction") or {}
    origin = f"published:{path.name}"
    records, tasks = [], {}
    for task, attempts in data["best_attempt"].items():
        submissions = data["best_submission"].get(task, {})
        direction = directions.get(task, directions.get("default", "maximize"))
        if direction not in ("maximize", "minimize"):
            raise ConfigError(f"{path}: metric_direction of {task!r} is {direction!r}; "
                              "use 'maximize' or 'minimize'")
        info = TaskInfo(id=task, name=task, primary_metric="score", direction=direction,
                        baseline=attempts.get(BASELINE_METHOD), source="published")
        best_method = max((m for m, s in submissions.items() if s is not None and m != BASELINE_METHOD),
                          key=lambda m: submissions[m] if info.maximize else -submissions[m],
                          default="")
        tasks[task] = replace(info, paper_baseline=info.baseline,
                              paper_best=submissions.get(best_method), paper_best_method=best_method)
        for method in dict.fromkeys([*attempts, *submissions]):
            if method == BASELINE_METHOD:
                continue
            records.append(_published_record(task, method, attempts.get(method),
                                             submissions.get(method), origin))
    aup = {m: {k: float(v) for k, v in row.items()} for m, row in (data.get("aup") or {}).items()}
    return Published(path, records, tasks, aup, _costs(data.get("cost"), path))


COST_KEYS = ("mean", "total", "per_task")


def _costs(data: Any, path: Path) -> dict[str, dict[str, float]]:
    """The optional ``cost`` object: method -> {mean, total, per_task} in USD."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: 'cost' must map each method to {{\"mean\": USD per episode, "
                          f"\"total\": USD, \"per_task\": USD}}; got {type(data).__name__}")
    costs = {}
    for method, row in data.items():
        values = row if isinstance(row, dict) else {"mean": row}
        bad = [k for k, v in values.items() if k not in COST_KEYS or isinstance(v, bool)
               or not isinstance(v, (int, float)) or v < 0]
        if bad:
            raise ConfigError(f"{path}: cost of {method!r}: {', '.join(map(repr, bad))} is not one "
                              f"of {', '.join(COST_KEYS)} with an amount >= 0 in USD")
        costs[method] = {k: float(v) for k, v in values.items()}
    return costs


def _published_record(task: str, method: str, attempt: float | None, submission: float | None,
                      origin: str) -> ResultRecord:
    def evaluation(action: str, value: float | None) -> Evaluation:
        return Evaluation(action=action, split="test", ok=value is not None,
                          scores={} if value is None else {"score": float(value)})

    return ResultRecord(task=task, method=method, evaluations=(evaluation("validate", attempt),),
                        submission=evaluation("submit", submission), origin=origin)


def task_key(name: str) -> str:
    """A spelling-insensitive key: ``"House Price"``, ``"house-price"`` and ``"houseprice"`` agree."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def task_infos(task_ids: Iterable[str], published: Published | None = None,
               registry: Any = None) -> dict[str, TaskInfo]:
    """Metadata for each task id: from the installed task, else the published file, else an error."""
    if registry is None:
        from mlgym.plugins.registry import get_registry

        registry = get_registry()
    installed = registry.entries["tasks"]
    by_key = {task_key(t.id): t for t in (published.tasks.values() if published else [])}
    by_key.update({task_key(t.name): t for t in (published.tasks.values() if published else [])})
    infos = {}
    for task_id in dict.fromkeys(task_ids):
        if task_id in installed:
            infos[task_id] = TaskInfo.from_spec(installed[task_id].value)
        elif task_key(task_id) in by_key:
            infos[task_id] = replace(by_key[task_key(task_id)], id=task_id)
        else:
            hint = f" or add it to {published.path}" if published else " or pass --published FILE listing it"
            raise ConfigError(f"no metadata for task {task_id!r} (primary metric, direction, "
                              f"baseline): install the package that provides it{hint}")
    return infos
