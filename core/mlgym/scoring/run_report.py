"""The runs part of ``mlgym report``: the tables of :mod:`~mlgym.scoring.analyses` as CSV rows and
Markdown sections (failed and incomplete runs, how episodes ended, actions, costs)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlgym.scoring import analyses
from mlgym.scoring.metrics import ResultRecord
from mlgym.scoring.tables import markdown_table

Rows = list[dict[str, Any]]

END_LABELS = {"submitted": "submitted", "evaluation_error": "evaluation error",
              "limit": "cost/step/time limit", "format_error": "format error",
              "model_error": "model/API error", "runtime_error": "runtime error",
              "interrupted": "interrupted", "unfinished": "unfinished"}


def run_tables(own: Sequence[ResultRecord],
               published_costs: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Rows]:
    """Every table of the runs part, by CSV name (empty tables left out)."""
    tables = {
        "runs": analyses.run_rows(own),
        "outcomes": analyses.outcome_rows(own, "method"),
        "outcomes_by_task": analyses.outcome_rows(own, "task"),
        "end_categories": analyses.end_rows(own, "method"),
        "end_categories_by_task": analyses.end_rows(own, "task"),
        "exit_reasons": analyses.exit_reason_rows(own),
        "action_kinds": analyses.action_rows(own),
        "action_kinds_by_step": analyses.action_step_rows(own),
        "costs": analyses.cost_rows(own, published_costs),
    }
    return {name: rows for name, rows in tables.items() if rows}


def _percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def outcomes_section(tables: Mapping[str, Rows], label: Callable[[str], str] = str) -> str:
    """``label`` names a method in the tables (the report marks published and search methods)."""
    parts = []
    for name, by in (("outcomes", "method"), ("outcomes_by_task", "task")):
        rows = tables.get(name, [])
        if rows:
            parts.append(markdown_table(
                [by, "episodes", "failed", "incomplete", "complete"],
                [[label(r[by]) if by == "method" else r[by], r["episodes"],
                  *(f"{r[k]} ({_percent(r[f'{k}_rate'])})"
                                          for k in analyses.OUTCOMES[::-1])] for r in rows]))
    if not parts:
        return ""
    return "\n\n".join(["## Failed and incomplete runs", *parts,
                        "Failed: no valid submission score (a runtime, model/API or format error "
                        "ended the episode, or its final submission failed to evaluate). "
                        "Incomplete: the agent never submitted (a limit ended the episode, it "
                        "was interrupted, or it is still running or unfinished). `all` pools "
                        "every episode."])


def ends_section(tables: Mapping[str, Rows], label: Callable[[str], str] = str) -> str:
    parts = []
    for name, by in (("end_categories", "method"), ("end_categories_by_task", "task")):
        rows = tables.get(name, [])
        if not rows:
            continue
        groups = list(dict.fromkeys(r[by] for r in rows))
        present = [c for c in analyses.END_CATEGORIES if any(r["category"] == c for r in rows)]
        cells = {(r[by], r["category"]): f"{r['count']} ({_percent(r['share'])})" for r in rows}
        parts.append(markdown_table([by, *(END_LABELS[c] for c in present)],
                                    [[label(g) if by == "method" else g,
                                      *(cells.get((g, c), "0") for c in present)] for g in groups]))
    if not parts:
        return ""
    return "\n\n".join(["## How episodes ended", *parts,
                        "Each episode counts once, in the first category that applies: format "
                        "error, model/API error, runtime error, interrupted, evaluation error "
                        "(the final submission failed to evaluate), cost/step/time limit (the "
                        "auto-submission scored), submitted."])


def actions_section(tables: Mapping[str, Rows], label: Callable[[str], str] = str) -> str:
    rows = tables.get("action_kinds", [])
    if not rows:
        return ""
    groups = list(dict.fromkeys(r["method"] for r in rows))
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    cells = {(r["method"], r["kind"]): f"{r['count']} ({_percent(r['share'])})" for r in rows}
    table = markdown_table(["kind", *map(label, groups)], [[k, *(cells.get((g, k), "0") for g in groups)]
                                               for k in kinds])
    return ("## Actions\n\n" + table + "\n\nCount (share of the method's actions) of each kind; "
            "`all` pools every method. Per step: `action_kinds_by_step.csv`.")


def costs_section(tables: Mapping[str, Rows], published_methods: set[str],
                  published_costs: Mapping[str, Mapping[str, float]],
                  label: Callable[[str], str] = str) -> str:
    rows = tables.get("costs", [])
    notes = []
    if published_methods and not published_costs:
        notes.append("The published file gives no costs for its methods (add a `cost` object to "
                     "it to show them here and on the cost plots).")
    if not rows:
        return "\n\n".join(["## Costs", *notes]) if notes else ""
    table = markdown_table(
        ["method", "source", "episodes", "total (USD)", "per episode", "per task", "tokens in",
         "tokens out", "per step"],
        [[label(r["method"]), r["source"], r["episodes"], r["total_cost"], r["mean_cost"],
          r["cost_per_task"], r["input_tokens"], r["output_tokens"], r["cost_per_step"]]
         for r in rows])
    return "\n\n".join(["## Costs", table, *notes])


def cost_points(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Mean cost per episode of every method that has one, yours and published alike."""
    return {r["method"]: r["mean_cost"] for r in rows if r.get("mean_cost") is not None}


__all__ = ["actions_section", "cost_points", "costs_section", "ends_section", "outcomes_section",
           "run_tables"]
