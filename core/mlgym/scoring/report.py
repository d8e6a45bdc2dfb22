"""``mlgym report``: result records (and published figures) in, Markdown, CSV and PNG files out.

:func:`build_report` reads the records, adds published methods beside them, runs every
requested metric plugin, and writes ``report.md``, one CSV per table (``scores.csv``,
``aup.csv``, ...), bootstrap intervals as ``<metric>_ci.csv``, and the figures of
:mod:`mlgym.scoring.plots`. When the records hold a search reference
(:mod:`mlgym.scoring.search`), its methods are marked ‡ and ``search_gain.csv`` holds every
other method's gain over it per task.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlgym.errors import ConfigError
from mlgym.scoring import run_report, search
from mlgym.scoring.metrics import (
    BASELINE_METHOD,
    TABLE_KINDS,
    MetricResult,
    ResultRecord,
    TaskInfo,
    compute_metric,
    load_records,
    methods_of,
    score_table,
)
from mlgym.scoring.published import Published, load_published, task_infos, task_key
from mlgym.scoring.tables import fmt as _fmt
from mlgym.scoring.tables import markdown_table, write_csv


@dataclass
class Report:
    """What a report was built from and the files it wrote."""

    out: Path
    records: list[ResultRecord]
    tasks: dict[str, TaskInfo]
    published_methods: set[str]
    results: dict[str, MetricResult] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # metric -> why it was not computed
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    published_costs: dict[str, dict[str, float]] = field(default_factory=dict)
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # run_report.run_tables
    search: set[str] = field(default_factory=set)  # methods that are a search reference
    gains: list[dict[str, Any]] = field(default_factory=list)  # search.gain_rows

    @property
    def own(self) -> list[ResultRecord]:
        """The records of one's own runs (not published figures)."""
        return [r for r in self.records if not r.origin.startswith("published:")]


def build_report(results: Sequence[str | Path], out: str | Path, published: str | Path | None = None,
                 metrics: Sequence[str] | None = None, bootstrap: int = 1000, seed: int = 0,
                 options: Mapping[str, Any] | None = None, registry: Any = None) -> Report:
    """Compute the metrics and write every table and figure of a report into ``out``."""
    if registry is None:
        from mlgym.plugins.registry import get_registry

        registry = get_registry()
    own = load_records(results) if results else []
    pub = load_published(published) if published else None
    if not own and pub is None:
        raise ConfigError("nothing to report: give result files or folders, or --published FILE")
    records, tasks, published_methods, notes = combine(own, pub, registry)
    report = Report(Path(out), records, tasks, published_methods, notes=notes,
                    published_costs=_published_costs(pub, own, published_methods))
    report.runs = run_report.run_tables(report.own, report.published_costs)
    report.search = search.search_methods(report.own, registry)
    report.gains = search.gain_rows(report.records, report.tasks, report.search,
                                    (options or {}).get("reference"))
    report.out.mkdir(parents=True, exist_ok=True)
    chosen = list(metrics) if metrics else registry.ids("metrics")
    if not chosen:
        report.notes.append("No metric plugin is installed (pip install mlgym-metric-aup); only "
                            "per-task scores are shown.")
    metric_options = {**(options or {}), "bootstrap": bootstrap, "seed": seed}
    for metric in chosen:
        try:
            report.results[metric] = compute_metric(metric, report.records, report.tasks,
                                                    metric_options, registry)
        except ConfigError as exc:
            if metrics:  # asked for by name: the user must hear why it cannot be computed
                raise
            report.skipped[metric] = str(exc)
    _write_tables(report)
    _write_figures(report)
    report.files.append(_write_markdown(report))
    return report


def combine(own: list[ResultRecord], pub: Published | None, registry: Any,
            ) -> tuple[list[ResultRecord], dict[str, TaskInfo], set[str], list[str]]:
    """One set of records and tasks: the user's, with published methods on the same tasks.

    Returns the records, the tasks, the names of the published methods and notes for the reader.
    """
    own = sorted(own, key=lambda r: (r.method, r.task, r.seed))  # stable order in every table
    own_tasks = list(dict.fromkeys(r.task for r in own))
    tasks = task_infos(own_tasks, pub, registry)
    records, notes, published_methods = list(own), [], set()
    if pub is not None:
        by_key = {task_key(info.name): t for t, info in tasks.items() if info.name}
        by_key.update({task_key(t): t for t in tasks})
        clashes = set(methods_of(own))
        renamed = {m: f"{m} (paper)" if m in clashes else m for m in pub.methods}
        left_out = []
        for record in pub.records:
            task_id = by_key.get(task_key(record.task)) if own else record.task
            if task_id is None:
                left_out.append(record.task)
                continue
            records.append(replace(record, task=task_id, method=renamed[record.method]))
            tasks.setdefault(task_id, pub.tasks[record.task])
        published_methods = set(renamed.values())
        if left_out:
            notes.append("Published tasks without results of your own are left out of the "
                         f"comparison: {', '.join(dict.fromkeys(left_out))}.")
        if any(m != n for m, n in renamed.items()):
            notes.append("Published methods named like one of yours carry the suffix ' (paper)'.")
    return records, tasks, published_methods, notes


def _published_costs(pub: Published | None, own: list[ResultRecord],
                     published_methods: set[str]) -> dict[str, dict[str, float]]:
    """The published methods' costs, under the names they carry in the report."""
    if pub is None:
        return {}
    clashes = set(methods_of(own))
    named = {(f"{m} (paper)" if m in clashes else m): cost for m, cost in pub.costs.items()}
    return {m: cost for m, cost in named.items() if m in published_methods}


# -- tables ------------------------------------------------------------------------------------


def score_rows(report: Report) -> list[dict[str, Any]]:
    """Per task and method: best attempt, best submission and runs, beside the task's references."""
    tables = {k: score_table(report.records, report.tasks, k) for k in TABLE_KINDS}
    runs = Counter((r.task, r.method) for r in report.records
                   if not r.origin.startswith("published:"))
    gains = {(g["task"], g["method"]): g["gain"] for g in report.gains}
    rows = []
    for task_id, scores in tables["best_submission"].items():
        info = report.tasks[task_id]
        for method in scores:
            rows.append({"task": task_id, "metric": info.primary_metric, "direction": info.direction,
                         "method": method, "source": _source(report, method),
                         "runs": runs.get((task_id, method), 0),
                         "best_attempt": tables["best_attempt"][task_id][method],
                         "best_submission": scores[method], "baseline": info.baseline,
                         "paper_best": info.paper_best, "paper_best_method": info.paper_best_method,
                         "search_reference": method in report.search,
                         "gain_over_search": gains.get((task_id, method))})
    return rows


def _source(report: Report, method: str) -> str:
    if method == BASELINE_METHOD:
        return "task"
    return "published" if method in report.published_methods else "yours"


def _write_tables(report: Report) -> None:
    out = report.out
    report.files.append(write_csv(out / "scores.csv", score_rows(report)))
    if report.gains:
        report.files.append(write_csv(out / "search_gain.csv", report.gains))
    for name, rows in report.runs.items():
        report.files.append(write_csv(out / f"{name}.csv", rows))
    for metric, result in report.results.items():
        for name, rows in result.tables.items():
            report.files.append(write_csv(out / f"{name}.csv", rows))
        if result.intervals:
            report.files.append(write_csv(out / f"{metric}_ci.csv", result.intervals))


def _write_figures(report: Report) -> None:
    from mlgym.scoring import plots

    methods = methods_of(report.records) + [BASELINE_METHOD]
    style = plots.Style(methods, report.published_methods, report.search)
    costs = run_report.cost_points(report.runs.get("costs", []))
    report.files += plots.draw_all(report.results, report.records, costs, style, report.out)
    if any(g["gain"] is not None for g in report.gains):
        report.files.append(plots.search_gains(report.gains, style, report.out / "search_gain.png"))
    for metric, result in report.results.items():  # the cost plot's points, as numbers
        if (report.out / f"{metric}_cost.png") in report.files:
            report.files.append(write_csv(report.out / f"{metric}_cost.csv",
                                          plots.cost_points(result, costs)))


# -- Markdown ----------------------------------------------------------------------------------


def _score_section(report: Report, kind: str) -> str:
    table = score_table(report.records, report.tasks, kind)
    methods = list(next(iter(table.values())))
    others = [m for m in methods if m != BASELINE_METHOD]
    header = ["task", "metric", "baseline", "paper best", *[_label(report, m) for m in others]]
    rows = []
    for task_id, scores in table.items():
        info = report.tasks[task_id]
        arrow = "↑" if info.maximize else "↓"
        best = _fmt(info.paper_best) + (f" ({info.paper_best_method})" if info.paper_best_method else "")
        rows.append([task_id, f"{info.primary_metric} {arrow}", info.baseline, best,
                     *[scores[m] for m in others]])
    title = kind.replace("_", " ")
    return (f"## Scores per task: {title}\n\n{markdown_table(header, rows)}\n\n"
            "↑ higher is better, ↓ lower is better; – no valid score or no runs.")


def _label(report: Report, method: str) -> str:
    """Published methods are marked only when they stand beside methods of one's own; search
    references always."""
    if method in report.search:
        return f"{method} ‡"
    mixed = any(not r.origin.startswith("published:") for r in report.records)
    return f"{method} †" if mixed and method in report.published_methods else method


def _metric_section(report: Report, metric: str, result: MetricResult) -> str:
    columns = [c for c in (result.summary_rows() or [{}])[0] if c != "method"]
    spans = {(r["method"], r["column"]): (r["low"], r["high"]) for r in result.intervals}

    def cell(method: str, column: str, value: Any) -> str:
        low, high = spans.get((method, column), (None, None))
        if isinstance(value, float) and low is not None and low < high:
            return f"{value:.4g} [{low:.4g}, {high:.4g}]"
        return _fmt(value)

    rows = [[_label(report, r["method"]), *[cell(r["method"], c, r[c]) for c in columns]]
            for r in result.summary_rows()]
    parts = [f"## {metric}", markdown_table(["method", *columns], rows)]
    parts += ["\n".join(f"- {n}" for n in result.notes)] if result.notes else []
    for suffix, caption in (("profiles", "performance profiles"), ("bars", f"{metric} by method"),
                            ("cost", f"cost vs {metric}")):
        if (report.out / f"{metric}_{suffix}.png") in report.files:
            parts.append(f"![{caption}]({metric}_{suffix}.png)")
    return "\n\n".join(parts)


def _search_section(report: Report) -> str:
    """Per task: the search's best submission and every other method's gain over it."""
    if not report.search:
        return ""
    if not report.gains:
        return ("## LLM gain over search\n\nNo task has both a search reference with a valid "
                "submission and another method.")
    methods = list(dict.fromkeys(g["method"] for g in report.gains))
    cells = {(g["task"], g["method"]): g["gain"] for g in report.gains}
    rows = []
    for task_id in dict.fromkeys(g["task"] for g in report.gains):
        first = next(g for g in report.gains if g["task"] == task_id)
        arrow = "↑" if first["direction"] == "maximize" else "↓"
        rows.append([task_id, f"{first['metric']} {arrow}",
                     f"{_fmt(first['search_score'])} ({_label(report, first['search_method'])})",
                     _fmt(first["reference"]), *[cells.get((task_id, m)) for m in methods]])
    header = ["task", "metric", "search best submission", "reference",
              *[_label(report, m) for m in methods]]
    notes = ["Gain over search = (best submission - the search's best submission) / (reference "
             "- baseline), in the task's direction: 0 is no better than tuning the task's knobs, "
             "1 is as much again as the reference (the published best) gains over the baseline; "
             "– no valid submission or no reference.", *search.tuned_on(report.own, report.search)]
    figure = ("![LLM gain over search](search_gain.png)"
              if (report.out / "search_gain.png") in report.files else "")
    return "\n\n".join(p for p in ["## LLM gain over search", markdown_table(header, rows),
                                    "\n".join(f"- {n}" for n in notes), figure] if p)


def _runs_section(report: Report) -> str:
    rows = report.runs.get("runs", [])
    if not rows:
        return ""
    reasons = report.runs.get("exit_reasons", [])
    table = [[_label(report, r["method"]), r["runs"], r["tasks"], r["seeds"], r["mean_cost"],
              r["mean_steps"],
              ", ".join(f"{x['exit_reason']} {x['count']}" for x in reasons if x["method"] == r["method"])]
             for r in rows]
    parts = ["## Runs", markdown_table(["method", "runs", "tasks", "seeds", "mean cost (USD)",
                                        "mean steps", "exit reasons"], table)]
    return "\n\n".join(parts)


def _analysis_sections(report: Report) -> list[str]:
    """Failed and incomplete runs, how episodes ended, actions and costs, with their figures."""
    def figure(name: str, caption: str) -> str:
        return f"![{caption}]({name}.png)" if (report.out / f"{name}.png") in report.files else ""

    runs = report.runs

    def label(method: str) -> str:  # these tables mark only the search (costs have a source)
        return f"{method} ‡" if method in report.search else method

    sections = [
        run_report.outcomes_section(runs, label), figure("outcomes", "failed and incomplete runs"),
        run_report.ends_section(runs, label), figure("exit_reasons", "how episodes ended"),
        run_report.actions_section(runs, label), figure("action_kinds", "actions by kind"),
        figure("action_kinds_by_step", "actions by kind over the steps of an episode"),
        run_report.costs_section(runs, report.published_methods, report.published_costs, label)]
    return [s for s in sections if s]


def _write_markdown(report: Report) -> Path:
    own = [r for r in report.records if not r.origin.startswith("published:")]
    intro = [f"{len(own)} episodes of {len(methods_of(own))} method(s) on "
             f"{len({r.task for r in own})} task(s)." if own else
             f"Published results only: {len(report.published_methods)} methods."]
    if report.published_methods and own:
        intro.append(f"Published methods (marked †): {', '.join(sorted(report.published_methods))}.")
    if report.search:
        intro.append(f"Search reference (marked ‡): {', '.join(sorted(report.search))}, a "
                     "hyperparameter search over each task's knobs within the same budgets; "
                     "see \"LLM gain over search\".")
    intro += report.notes
    sections = ["# MLGym report", "\n".join(f"- {line}" for line in intro)]
    sections += [_score_section(report, kind) for kind in reversed(TABLE_KINDS)]
    sections.append(_search_section(report))
    sections += [_metric_section(report, m, r) for m, r in report.results.items()]
    if report.skipped:
        sections.append("## Metrics not computed\n\n" + "\n".join(
            f"- {m}: {why}" for m, why in report.skipped.items()))
    sections.append(_runs_section(report))
    sections += _analysis_sections(report)
    listing = "\n".join(f"- [{p.name}]({p.name})" for p in report.files if p.suffix == ".csv")
    sections.append(f"## Tables\n\n{listing}")
    path = report.out / "report.md"
    path.write_text("\n\n".join(s for s in sections if s) + "\n", encoding="utf-8")
    return path


__all__ = ["Report", "build_report", "combine", "markdown_table", "write_csv"]
