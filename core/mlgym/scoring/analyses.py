"""The paper's analyses of runs, from a list of result records: how episodes ended, which failed
or never finished, what the agents did, what they cost.

Every function takes records (:class:`~mlgym.scoring.metrics.ResultRecord`; published ones are
left out by the caller) and returns rows of flat dicts, ready for CSV and Markdown. Records may
come from ``result.json`` files or from a benchmark store, including episodes that failed or
never finished: ``state`` (``done`` unless the store says ``failed``, ``running``, ``pending``
or ``incomplete``), ``exit_reason``, ``error_kind``, ``submission``, ``cost``, ``tokens`` and
``action_kinds`` are what they read (docs/metrics.md, "Run analyses").
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mlgym.episode.actions import ACTION_KINDS
from mlgym.scoring.metrics import ResultRecord, methods_of

ALL = "all"
"""The group name of rows pooled over every method (or task)."""

UNFINISHED_STATES = ("pending", "running", "incomplete")
LIMITS = ("max_steps", "time_limit", "cost_limit", "context_window")

END_CATEGORIES = ("submitted", "evaluation_error", "limit", "format_error", "model_error",
                  "runtime_error", "interrupted", "unfinished")
"""How an episode ended, in the paper's categories (plus the two it had no word for):

- ``submitted``: the agent submitted and the submission was scored;
- ``evaluation_error``: the final submission (``submit`` or ``auto_submit``) failed to evaluate,
  or an episode that ended by a limit has none;
- ``limit``: a cost, step, time or context-window limit ended it and the auto-submission scored;
- ``format_error``: the model kept answering in a form the agent cannot read;
- ``model_error``: the model provider kept failing (after retries);
- ``runtime_error``: an exception, a broken sandbox, or a store state ``failed``;
- ``interrupted``: stopped by Ctrl-C or a kill;
- ``unfinished``: still pending or running, or left incomplete in a store.
"""

OUTCOMES = ("complete", "incomplete", "failed")


def end_category(record: ResultRecord) -> str:
    """The :data:`END_CATEGORIES` entry of one episode."""
    if record.state in UNFINISHED_STATES or (record.state == "done" and not record.exit_reason):
        return "unfinished"
    reason = record.exit_reason
    if reason == "format_error":
        return "format_error"
    if reason == "error" and record.error_kind == "model":
        return "model_error"
    if reason == "error" or record.state == "failed":
        return "runtime_error"
    if reason == "interrupted":
        return "interrupted"
    if record.submission is None or not record.submission.ok:
        return "evaluation_error"
    return "limit" if reason in LIMITS else "submitted"


def outcome(record: ResultRecord) -> str:
    """``failed``, ``incomplete`` or ``complete``.

    Failed: the episode broke (runtime, model or format error, store state ``failed``) or its
    final submission failed to evaluate: it has no valid submission score. Incomplete: it never
    ended by the agent's own submit (a limit ended it, it was interrupted, it is still running
    or left unfinished). Complete: the agent submitted and the submission was scored.
    """
    category = end_category(record)
    if category in ("format_error", "model_error", "runtime_error", "evaluation_error"):
        return "failed"
    return "complete" if category == "submitted" else "incomplete"


def _groups(records: Sequence[ResultRecord], by: str) -> list[tuple[str, list[ResultRecord]]]:
    """Records grouped by ``method`` or ``task`` (in order of first appearance), then all."""
    key: Callable[[ResultRecord], str] = (lambda r: r.method) if by == "method" else (lambda r: r.task)
    names = list(dict.fromkeys(map(key, records)))
    groups = [(name, [r for r in records if key(r) == name]) for name in names]
    return groups + [(ALL, list(records))] if len(groups) > 1 else groups


def outcome_rows(records: Sequence[ResultRecord], by: str = "method") -> list[dict[str, Any]]:
    """Per method (``by="method"``) or task (``by="task"``), then pooled: episodes, and how many
    and what share were failed, incomplete and complete."""
    rows = []
    for name, group in _groups(records, by):
        counts = Counter(map(outcome, group))
        row: dict[str, Any] = {by: name, "episodes": len(group)}
        for kind in OUTCOMES:
            row[kind] = counts[kind]
        for kind in OUTCOMES:
            row[f"{kind}_rate"] = counts[kind] / len(group)
        rows.append(row)
    return rows


def end_rows(records: Sequence[ResultRecord], by: str = "method") -> list[dict[str, Any]]:
    """Per method or task, then pooled: the count and share of each end category (long form,
    only categories that occur)."""
    rows = []
    for name, group in _groups(records, by):
        counts = Counter(map(end_category, group))
        rows += [{by: name, "category": c, "count": counts[c], "share": counts[c] / len(group)}
                 for c in END_CATEGORIES if counts[c]]
    return rows


def exit_reason_rows(records: Sequence[ResultRecord]) -> list[dict[str, Any]]:
    """Per method: the count and share of each raw exit reason (``unknown`` when none)."""
    rows = []
    for method in methods_of(records):
        counts = Counter(r.exit_reason or "unknown" for r in records if r.method == method)
        total = sum(counts.values())
        rows += [{"method": method, "exit_reason": k, "count": n, "share": n / total}
                 for k, n in counts.items()]
    return rows


def action_rows(records: Sequence[ResultRecord]) -> list[dict[str, Any]]:
    """Per method, then pooled over methods: the count and share of each kind of action."""
    rows = []
    for name, group in _groups(records, "method"):
        counts = Counter(k for r in group for k in r.action_kinds)
        total = sum(counts.values())
        rows += [{"method": name, "kind": k, "count": counts[k], "share": counts[k] / total}
                 for k in _kinds(counts)]
    return rows


def action_step_rows(records: Sequence[ResultRecord]) -> list[dict[str, Any]]:
    """Per method, then pooled, per step (1-based): count and share of each kind of action among
    the actions taken at that step (episodes shorter than the step do not count there)."""
    rows = []
    for name, group in _groups(records, "method"):
        length = max((len(r.action_kinds) for r in group), default=0)
        for i in range(length):
            counts = Counter(r.action_kinds[i] for r in group if i < len(r.action_kinds))
            total = sum(counts.values())
            rows += [{"method": name, "step": i + 1, "kind": k, "count": counts[k],
                      "share": counts[k] / total} for k in _kinds(counts)]
    return rows


def _kinds(counts: Counter) -> list[str]:
    return [k for k in ACTION_KINDS if counts[k]] + sorted(set(counts) - set(ACTION_KINDS))


def run_rows(records: Sequence[ResultRecord]) -> list[dict[str, Any]]:
    """Per method: runs, tasks, seeds, mean cost, steps and duration."""
    rows = []
    for method in methods_of(records):
        mine = [r for r in records if r.method == method]
        costs = [r.cost for r in mine if r.cost is not None]
        rows.append({"method": method, "runs": len(mine), "tasks": len({r.task for r in mine}),
                     "seeds": len({r.seed for r in mine}),
                     "mean_cost": statistics.fmean(costs) if costs else None,
                     "total_cost": sum(costs) if costs else None,
                     "mean_steps": _mean(r.steps for r in mine),
                     "mean_duration": _mean(r.duration for r in mine)})
    return rows


def cost_rows(records: Sequence[ResultRecord],
              published: Mapping[str, Mapping[str, float]] | None = None) -> list[dict[str, Any]]:
    """Per method: episodes with a cost, total and mean cost per episode (USD), mean cost per
    task (the total spread over the tasks it ran), tokens in and out, cost per step; then each
    published method whose cost the published file gives (``source`` says which is which)."""
    rows = []
    for method in methods_of(records):
        mine = [r for r in records if r.method == method and r.cost is not None]
        if not mine:
            continue
        total = sum(r.cost for r in mine if r.cost is not None)
        steps = sum(r.steps or 0 for r in mine)
        rows.append({"method": method, "source": "yours", "episodes": len(mine),
                     "total_cost": total, "mean_cost": total / len(mine),
                     "cost_per_task": total / len({r.task for r in mine}),
                     "input_tokens": sum(r.tokens.get("input", 0) for r in mine),
                     "output_tokens": sum(r.tokens.get("output", 0) for r in mine),
                     "cost_per_step": total / steps if steps else None})
    for method, cost in (published or {}).items():
        rows.append({"method": method, "source": "published", "episodes": None,
                     "total_cost": cost.get("total"), "mean_cost": cost.get("mean"),
                     "cost_per_task": cost.get("per_task"), "input_tokens": None,
                     "output_tokens": None, "cost_per_step": None})
    return rows


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


__all__ = ["ALL", "END_CATEGORIES", "OUTCOMES", "action_rows", "action_step_rows", "cost_rows",
           "end_category", "end_rows", "exit_reason_rows", "outcome", "outcome_rows", "run_rows"]
