"""The search reference: every method beside a budget-matched hyperparameter search.

An agent plugin declares its runs a search reference with ``AgentSpec(reference="search")``
(the ``automl`` agent does). Reports then mark those methods in every table and figure and add,
per task, the **gain over search** of every other method: its best submission minus the
search's, in the task's direction, normalised as the ``normalized`` metric normalises an
improvement,

    gain = (score - search score) / (reference - baseline)

with the task's published best as the reference (or ``options["reference"][task]``). A gain of
0 means the method did no better than tuning the task's knobs; 1 means it gained as much over
the search as the published best gains over the baseline. With several search methods on a task
the best of them is the reference point.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlgym.scoring.metrics import BASELINE_METHOD, ResultRecord, TaskInfo, score_table

SEARCH = "search"
KIND = "best_submission"


def search_methods(records: Iterable[ResultRecord], registry: Any) -> set[str]:
    """The methods of ``records`` whose agent declares itself the search reference."""
    agents: dict[str, str] = {}
    for spec in _agent_specs(registry):
        agents[spec.id] = getattr(spec, "reference", "")
    return {r.method for r in records if r.agent and agents.get(r.agent) == SEARCH}


def _agent_specs(registry: Any) -> list[Any]:
    try:
        return [registry.get("agents", agent_id) for agent_id in registry.ids("agents")]
    except Exception:  # a registry without agents (a bare test registry)
        return []


def gain_rows(records: list[ResultRecord], tasks: Mapping[str, TaskInfo], search: set[str],
              references: Mapping[str, float] | None = None, split: str = "test",
              ) -> list[dict[str, Any]]:
    """Per task and method (the search's own and the baseline left out): the gain over search.

    A row: ``task``, ``method``, ``score`` (its best submission), ``search_method`` and
    ``search_score`` (the best search on that task), ``reference``, ``baseline`` and ``gain``
    (None where a score is missing or the task has no usable reference).
    """
    if not search:
        return []
    table = score_table(records, tasks, KIND, split, BASELINE_METHOD)
    rows = []
    for task_id, scores in table.items():
        info = tasks[task_id]
        searched = {m: s for m, s in scores.items() if m in search and s is not None}
        if not searched:
            continue
        best_search = info.best(searched.values())
        search_method = next(m for m, s in searched.items() if s == best_search)
        reference = (references or {}).get(task_id, info.paper_best)
        usable = (reference is not None and info.baseline is not None
                  and reference != info.baseline)
        for method, score in scores.items():
            if method in search or method == BASELINE_METHOD:
                continue
            gain = None
            if usable and score is not None:
                gain = (score - best_search) / (reference - info.baseline)
            rows.append({"task": task_id, "metric": info.primary_metric,
                         "direction": info.direction, "method": method, "score": score,
                         "search_method": search_method, "search_score": best_search,
                         "baseline": info.baseline, "reference": reference if usable else None,
                         "gain": gain})
    return rows


def tuned_on(records: Iterable[ResultRecord], search: set[str]) -> list[str]:
    """Sentences saying on which split each search method tuned: its validations' splits."""
    lines = []
    for method in sorted(search):
        runs = [r for r in records if r.method == method]
        splits = sorted({e.split for r in runs for e in r.evaluations if e.action == "validate"})
        protocols = sorted({r.protocol for r in runs})
        lines.append(f"{method} tuned on the {' and '.join(splits) or 'no'} split "
                     f"(protocol {', '.join(protocols)}: it scores its trials with validate, "
                     "like the LLM agents).")
    return lines
