"""Cross-task metrics: result records in, tables out.

A metric plugin registers :class:`mlgym.plugins.MetricSpec` objects through the ``mlgym_metrics``
hook. Its ``compute(records, tasks, options)`` receives

- ``records``: a list of :class:`ResultRecord`, one per episode (the runner's ``result.json``);
- ``tasks``: ``{task id: TaskInfo}`` for every task the records name (primary metric, direction,
  baseline, the paper's figures);
- ``options``: a plain dict; every metric understands ``bootstrap`` (replicates, 0 = none),
  ``seed`` and ``split`` (the evaluation split that counts, ``"test"`` by default),

and returns a :class:`MetricResult`. :func:`compute_metric` looks the metric up by id.
The building blocks every metric needs (per-task best scores, bootstrap over seeds) live here so
that all metrics read records the same way.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgym.episode.actions import SUBMIT_ACTIONS
from mlgym.errors import ConfigError, MLGymError

SCHEMA_VERSION = 1
TABLE_KINDS = ("best_attempt", "best_submission")
"""The two ways of scoring a method on a task, as the paper does."""
BASELINE_METHOD = "baseline"


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of an episode: which action asked for it, on which split, with what scores."""

    action: str
    split: str
    ok: bool
    scores: Mapping[str, float]
    step: int | None = None
    error: str | None = None
    time: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], action: str = "validate") -> Evaluation:
        """Read one evaluation; ``action`` is assumed when the data names none."""
        scores = data.get("scores") or {}
        return cls(action=str(data.get("action", action)), split=str(data.get("split", "test")),
                   ok=bool(data.get("ok", True)),
                   scores={k: float(v) for k, v in scores.items() if isinstance(v, (int, float))},
                   step=data.get("step"), error=data.get("error"), time=data.get("time"))

    @property
    def is_submission(self) -> bool:
        """A ``submit`` or an ``auto_submit`` (the workspace handed in when the episode ended)."""
        return self.action in SUBMIT_ACTIONS

    def score(self, metric: str, split: str) -> float | None:
        """The value of ``metric`` if this evaluation succeeded on ``split``, else None."""
        if not self.ok or self.split != split:
            return None
        return self.scores.get(metric)


@dataclass(frozen=True)
class ResultRecord:
    """A typed view of one ``result.json`` (see docs/CONTRACTS.md, "Result record")."""

    task: str
    method: str
    seed: int = 0
    evaluations: tuple[Evaluation, ...] = ()
    submission: Evaluation | None = None
    exit_reason: str | None = None
    error_kind: str | None = None  # for exit reason "error": "model" or "runtime"
    state: str = "done"  # a benchmark store's episode state: done, failed, running, pending...
    agent: str = ""
    model: str = ""
    protocol: str = "mlgym"
    backend: str = ""
    steps: int | None = None
    duration: float | None = None
    cost: float | None = None
    tokens: Mapping[str, int] = field(default_factory=dict)
    action_kinds: tuple[str, ...] = ()
    trajectory: str | None = None
    origin: str = ""  # the file it was read from, or "published:<file>"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "") -> ResultRecord:
        """Read a record; a malformed one raises :class:`ConfigError` naming ``origin``."""
        where = origin or "result record"
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a JSON object, got {type(data).__name__}")
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ConfigError(f"{where}: schema_version {version!r} is not supported (this MLGym "
                              f"reads version {SCHEMA_VERSION}); upgrade mlgym-core to read it")
        method = data.get("method") or ":".join(p for p in (data.get("agent"), data.get("model")) if p)
        if not isinstance(data.get("task"), str) or not method:
            raise ConfigError(f"{where}: a result record needs 'task' and 'method' (or 'agent') "
                              f"strings; got task={data.get('task')!r}, method={method!r}")
        try:
            evaluations = tuple(Evaluation.from_dict(e) for e in data.get("evaluations") or [])
            given = data.get("submission")
            submission = Evaluation.from_dict(given, action="submit") if given else None
            evaluations, submission = _real_submission(evaluations, submission)
            return cls(
                task=data["task"], method=str(method), seed=int(data.get("seed") or 0),
                evaluations=evaluations, submission=submission,
                exit_reason=data.get("exit_reason"), error_kind=data.get("error_kind"),
                state=str(data.get("state") or "done"), agent=data.get("agent") or "",
                model=data.get("model") or "", protocol=data.get("protocol") or "mlgym",
                backend=data.get("backend") or "", steps=data.get("steps"),
                duration=data.get("duration"), cost=data.get("cost"),
                tokens=dict(data.get("tokens") or {}),
                action_kinds=tuple(data.get("action_kinds") or ()),
                trajectory=data.get("trajectory"), origin=origin)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"{where}: malformed result record: {exc}") from None

    def attempt_score(self, task: TaskInfo, split: str = "test") -> float | None:
        """The best primary score over every evaluation of this episode on ``split``."""
        evaluations = self.evaluations
        if self.submission is not None and self.submission not in evaluations:
            evaluations = (*evaluations, self.submission)
        return task.best(e.score(task.primary_metric, split) for e in evaluations)

    def submission_score(self, task: TaskInfo, split: str = "test") -> float | None:
        """The primary score of the episode's submission (its last ``submit`` or ``auto_submit``)
        on ``split``; None without one: a ``validate`` never counts as a submission."""
        if self.submission is None or not self.submission.is_submission:
            return None
        return self.submission.score(task.primary_metric, split)

    def score(self, kind: str, task: TaskInfo, split: str = "test") -> float | None:
        """``attempt_score`` for ``"best_attempt"``, ``submission_score`` for ``"best_submission"``."""
        if kind == "best_attempt":
            return self.attempt_score(task, split)
        if kind == "best_submission":
            return self.submission_score(task, split)
        raise ValueError(f"unknown score kind {kind!r}; use one of {TABLE_KINDS}")


def _real_submission(evaluations: tuple[Evaluation, ...], submission: Evaluation | None,
                     ) -> tuple[tuple[Evaluation, ...], Evaluation | None]:
    """The evaluations and the submission of a record as read.

    Records written before the submission was checked may name a ``validate`` as the
    submission: it stays an attempt (kept among the evaluations) and the submission becomes the
    last ``submit`` / ``auto_submit`` among the evaluations, or None.
    """
    if submission is None or submission.is_submission:
        return evaluations, submission
    if submission not in evaluations:
        evaluations = (*evaluations, submission)
    submitted = [e for e in evaluations if e.is_submission]
    return evaluations, submitted[-1] if submitted else None


@dataclass(frozen=True)
class TaskInfo:
    """What a metric needs to know about a task: its primary metric, direction and references."""

    id: str
    primary_metric: str
    direction: str  # "maximize" | "minimize"
    baseline: float | None = None
    paper_baseline: float | None = None
    paper_best: float | None = None
    paper_best_method: str = ""
    name: str = ""
    source: str = "installed"  # or "published"

    @classmethod
    def from_spec(cls, spec: Any) -> TaskInfo:
        """Build from a :class:`mlgym.specs.tasks.TaskSpec`."""
        metric = spec.primary_metric
        return cls(id=spec.id, primary_metric=metric.name, direction=metric.direction,
                   baseline=spec.baseline.get(metric.name),
                   paper_baseline=spec.paper_baseline.get(metric.name),
                   paper_best=spec.paper_best.get(metric.name),
                   paper_best_method=spec.paper_best_method, name=spec.name)

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` is strictly better than ``b`` in this task's direction."""
        return a > b if self.maximize else a < b

    def best(self, values: Iterable[float | None]) -> float | None:
        """The best of ``values`` in this task's direction, ignoring missing ones."""
        present = [v for v in values if v is not None]
        if not present:
            return None
        return max(present) if self.maximize else min(present)


@dataclass
class MetricResult:
    """What a metric returns: named tables (lists of flat dicts) and what a reader must know.

    ``summary`` names the table with one row per method (column ``method``) holding the headline
    aggregates; ``directions`` says for each of its numeric columns whether higher
    (``"maximize"``) or lower is better. ``intervals`` holds bootstrap confidence intervals as
    rows ``{method, column, value, low, high}``. ``profiles`` maps a title to ``{method: [(x, y),
    ...]}`` step curves. ``notes`` are sentences the report prints under the tables (such as the
    comparator set); ``meta`` holds scalar settings (grid, replicates).
    """

    metric: str
    tables: dict[str, list[dict[str, Any]]]
    summary: str = ""
    directions: dict[str, str] = field(default_factory=dict)
    intervals: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def summary_rows(self) -> list[dict[str, Any]]:
        return self.tables.get(self.summary, [])


# -- reading records -----------------------------------------------------------------------------


def load_records(paths: Iterable[str | Path]) -> list[ResultRecord]:
    """Read result records from ``result.json`` files, ``.jsonl`` files and folders (recursively)."""
    records: list[ResultRecord] = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file()
                           and (p.name == "result.json" or p.suffix == ".jsonl"))
            if not files:
                raise ConfigError(f"no result.json or .jsonl files under {path}; pass the folder "
                                  "that `mlgym run` wrote its results to")
        elif path.is_file():
            files = [path]
        else:
            raise ConfigError(f"results path {path} does not exist")
        for file in files:
            records.extend(_read_file(file))
    return records


def _read_file(path: Path) -> list[ResultRecord]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        return [ResultRecord.from_dict(parse_json(line, f"{path}:{n}"), f"{path}:{n}") for n, line in lines]
    return [ResultRecord.from_dict(parse_json(text, str(path)), str(path))]


def parse_json(text: str, where: str) -> Any:
    """Parse JSON text; invalid JSON raises :class:`ConfigError` naming ``where`` and the spot."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column "
                          f"{exc.colno})") from None


# -- per-task scores ---------------------------------------------------------------------------


def methods_of(records: Iterable[ResultRecord]) -> list[str]:
    """Method names in order of first appearance."""
    return list(dict.fromkeys(r.method for r in records))


def score_table(records: Iterable[ResultRecord], tasks: Mapping[str, TaskInfo], kind: str,
                split: str = "test", baseline_method: str | None = BASELINE_METHOD,
                ) -> dict[str, dict[str, float | None]]:
    """``{task: {method: score}}``: each method's best ``kind`` score over its runs on each task.

    Every task named by a record appears, with every method (None where it has no valid score
    or no runs). The task's baseline is added as method ``baseline_method`` unless the records
    already hold runs of a method with that name.
    """
    records = list(records)
    methods = methods_of(records)
    add_baseline = baseline_method is not None and baseline_method not in methods
    if add_baseline:
        methods.append(baseline_method)
    runs: dict[tuple[str, str], list[float | None]] = defaultdict(list)
    for record in records:
        runs[record.task, record.method].append(record.score(kind, tasks[record.task], split))
    table = {}
    for task_id in dict.fromkeys(r.task for r in records):
        task = tasks[task_id]
        row = {m: task.best(runs.get((task_id, m), [])) for m in methods}
        if add_baseline:
            row[baseline_method] = task.baseline
        table[task_id] = row
    return table


def check_tasks(records: Iterable[ResultRecord], tasks: Mapping[str, TaskInfo]) -> None:
    """Raise :class:`ConfigError` naming any task of ``records`` that ``tasks`` does not describe."""
    missing = sorted({r.task for r in records} - set(tasks))
    if missing:
        raise ConfigError(f"no task metadata for {', '.join(map(repr, missing))}; build it with "
                          "mlgym.scoring.task_infos() or install the task packages")


# -- bootstrap over seeds ----------------------------------------------------------------------


Statistic = Callable[[list[ResultRecord]], Mapping[tuple[str, str], float]]


def bootstrap_intervals(records: list[ResultRecord], statistic: Statistic, replicates: int,
                        seed: int = 0, level: float = 0.95) -> dict[tuple[str, str], tuple[float, float]]:
    """Percentile bootstrap over seeds: resample each (task, method)'s runs with replacement.

    ``statistic(records)`` returns ``{(method, column): value}``; the result maps the same keys
    to ``(low, high)``. A method with one run per task gets a zero-width interval.
    """
    import numpy as np

    groups: dict[tuple[str, str], list[ResultRecord]] = defaultdict(list)
    for record in records:
        groups[record.task, record.method].append(record)
    rng = np.random.default_rng(seed)
    samples: dict[tuple[str, str], list[float]] = defaultdict(list)
    if all(len(g) == 1 for g in groups.values()):
        replicates = 1  # resampling one run always gives that run back: every replicate is equal
    for _ in range(replicates):
        resampled = [g[i] for g in groups.values() for i in rng.integers(0, len(g), len(g))]
        for key, value in statistic(resampled).items():
            samples[key].append(value)
    tail = (1 - level) / 2
    return {key: (float(np.nanquantile(v, tail)), float(np.nanquantile(v, 1 - tail)))
            for key, v in samples.items()}


def interval_rows(point: Mapping[tuple[str, str], float],
                  intervals: Mapping[tuple[str, str], tuple[float, float]]) -> list[dict[str, Any]]:
    """Rows ``{method, column, value, low, high}`` for :attr:`MetricResult.intervals`."""
    return [{"method": m, "column": c, "value": v, "low": intervals[m, c][0],
             "high": intervals[m, c][1]} for (m, c), v in point.items() if (m, c) in intervals]


def add_intervals(result: MetricResult, records: list[ResultRecord],
                  summary: Callable[[list[ResultRecord]], list[dict[str, Any]]],
                  options: Mapping[str, Any]) -> None:
    """Fill ``result.intervals`` by bootstrapping ``summary`` (records -> summary rows) over seeds.

    Does nothing unless ``options["bootstrap"]`` (the number of replicates) is positive.
    """
    replicates = int(options.get("bootstrap") or 0)
    if replicates <= 0:
        return
    runs = Counter((r.task, r.method) for r in records)
    if all(n == 1 for n in runs.values()):
        result.notes.append("No confidence intervals: every method has a single run per task, "
                            "so there are no seeds to resample.")
        return
    seed = int(options.get("seed") or 0)
    intervals = bootstrap_intervals(records, lambda rs: _numbers(summary(rs)), replicates, seed)
    result.intervals = interval_rows(_numbers(result.summary_rows()), intervals)
    result.meta["bootstrap"] = replicates
    result.notes.append(f"Intervals: 95% percentile bootstrap over seeds ({replicates} replicates "
                        f"with seed {seed}; each (task, method)'s runs resampled with replacement). "
                        "A best over runs can only drop when its runs are resampled, so a "
                        "method's interval lies mostly below its value: its width shows how much "
                        "the value rests on the luckiest seed.")


def _numbers(rows: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    return {(row["method"], column): float(value) for row in rows for column, value in row.items()
            if column != "method" and isinstance(value, (int, float)) and not isinstance(value, bool)}


# -- running a metric --------------------------------------------------------------------------


def compute_metric(metric_id: str, records: list[ResultRecord], tasks: Mapping[str, TaskInfo],
                   options: Mapping[str, Any] | None = None, registry: Any = None) -> MetricResult:
    """Compute the installed metric ``metric_id`` on ``records``."""
    if registry is None:
        from mlgym.plugins.registry import get_registry

        registry = get_registry()
    spec = registry.get("metrics", metric_id)
    check_tasks(records, tasks)
    result = spec.compute(list(records), dict(tasks), dict(options or {}))
    if not isinstance(result, MetricResult):
        raise MLGymError(f"metric {metric_id!r} returned {type(result).__name__}, not "
                         "mlgym.scoring.MetricResult; fix the metric plugin")
    return result
