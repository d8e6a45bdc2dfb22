"""The figures of a report, drawn with matplotlib (Agg backend) into PNG files.

Each function draws one figure from metric results or records and saves it; each method keeps
its colour across figures. Published methods (from ``--published``) are drawn dashed or hatched
so that a reader tells them from their own at a glance; a search reference (an agent that
declares itself one, such as ``automl``) is drawn dash-dotted and labelled "(search)".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlgym.episode.actions import ACTION_KINDS
from mlgym.scoring.analyses import END_CATEGORIES, OUTCOMES, end_category, outcome
from mlgym.scoring.metrics import BASELINE_METHOD, MetricResult, ResultRecord


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class Style:
    """A colour per method (stable across figures), whether it is a published one and whether
    it is a search reference."""

    def __init__(self, methods: Sequence[str], published: set[str],
                 search: set[str] | None = None):
        plt = _pyplot()
        palette = plt.get_cmap("tab20").colors
        others = [m for m in methods if m != BASELINE_METHOD]
        self.colors = {m: palette[(2 * i) % 20 + (2 * i // 20) % 2] for i, m in enumerate(others)}
        self.colors[BASELINE_METHOD] = (0.0, 0.0, 0.0)
        # published methods are set apart only when they stand beside methods of one's own
        mixed = any(m not in published and m != BASELINE_METHOD for m in methods)
        self.published = set(published) if mixed else set()
        self.search = set(search or ())

    def color(self, method: str):
        return self.colors.get(method, (0.5, 0.5, 0.5))

    def line(self, method: str) -> str:
        if method == BASELINE_METHOD:
            return ":"
        if method in self.search:
            return "-."
        return "--" if method in self.published else "-"

    def label(self, method: str) -> str:
        if method in self.search:
            return f"{method} (search)"
        return f"{method} (paper)" if method in self.published else method


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return path


def profiles(result: MetricResult, style: Style, path: Path) -> Path:
    """Step curves of every method's performance profile, one panel per profile title."""
    plt = _pyplot()
    titles = list(result.profiles)
    fig, axes = plt.subplots(1, len(titles), figsize=(6.5 * len(titles) + 2.5, 5), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, title in zip(axes[0], titles, strict=True):
        for method, points in result.profiles[title].items():
            xs, ys = zip(*points, strict=True)
            ax.step(xs, ys, where="post", color=style.color(method), linestyle=style.line(method),
                    linewidth=2.2 if method not in style.published else 1.4, label=style.label(method))
        ax.set_title(f"performance profile: {title}")
        ax.set_xlabel("tau (log10 of the ratio to the best score)")
        ax.set_xlim(0, max(p[-1][0] for p in result.profiles[title].values()))
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("share of tasks within tau of the best")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    return _save(fig, path)


def _interval(result: MetricResult, method: str, column: str) -> tuple[float, float] | None:
    for row in result.intervals:
        if row["method"] == method and row["column"] == column:
            return row["low"], row["high"]
    return None


def summary_bars(result: MetricResult, style: Style, path: Path) -> Path:
    """Horizontal bars of each headline column, best method on top, with bootstrap intervals."""
    plt = _pyplot()
    rows = result.summary_rows()
    columns = list(result.directions)
    fig, axes = plt.subplots(1, len(columns), figsize=(4.6 * len(columns), 0.38 * len(rows) + 1.5),
                             squeeze=False, layout="constrained")
    for ax, column in zip(axes[0], columns, strict=True):
        better_high = result.directions[column] == "maximize"
        ordered = sorted((r for r in rows if math.isfinite(r[column])), key=lambda r: r[column],
                         reverse=better_high)
        methods = [r["method"] for r in ordered]
        values = [r[column] for r in ordered]
        bars = ax.barh(range(len(methods)), values, color=[style.color(m) for m in methods])
        for bar, method in zip(bars, methods, strict=True):
            if method in style.published:
                bar.set_hatch("//")
                bar.set_alpha(0.6)
        for i, (method, value) in enumerate(zip(methods, values, strict=True)):
            span = _interval(result, method, column)
            if span is not None and span[0] < span[1]:
                ax.errorbar(value, i, xerr=[[value - span[0]], [span[1] - value]], color="black",
                            capsize=3, linewidth=1)
            ax.annotate(f"{value:.3g}", (value, i), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)
        _zoom(ax, values)
        ax.invert_yaxis()  # best on top
        ax.set_yticks(range(len(methods)), [style.label(m) for m in methods], fontsize=8)
        ax.set_title(f"{column} ({'higher' if better_high else 'lower'} is better)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{result.metric}")
    return _save(fig, path)


def _zoom(ax, values: Sequence[float]) -> None:
    """Start the axis near the smallest bar when bars are long and close together (AUP); use a
    symmetric log scale when a few values dwarf the others."""
    if not values:
        return
    low, high = min(values), max(values)
    typical = sorted(abs(v) for v in values)[len(values) // 2] or 1.0
    if max(abs(low), abs(high)) > 1000 * typical:  # a few huge outliers: keep the rest visible
        ax.set_xscale("symlog", linthresh=max(typical, 1e-6))
        return
    if low > 0 and high - low < 0.5 * low:
        ax.set_xlim(low - 0.3 * (high - low) - 0.01 * high, high + 0.15 * (high - low) + 0.01 * high)


def cost_points(result: MetricResult, costs: Mapping[str, float]) -> list[dict[str, Any]]:
    """The points of the cost plot: per headline column, each method with a cost, its value and
    whether it lies on the Pareto front (cheaper and better than every other point)."""
    rows = [r for r in result.summary_rows() if r["method"] in costs]
    points = []
    for column, direction in result.directions.items():
        sign = 1 if direction == "maximize" else -1
        front = set(pareto_front([(costs[r["method"]], sign * r[column]) for r in rows]))
        points += [{"column": column, "method": r["method"], "mean_cost": costs[r["method"]],
                    "value": r[column], "pareto": i in front} for i, r in enumerate(rows)]
    return points


def cost_vs(result: MetricResult, costs: Mapping[str, float], style: Style, path: Path) -> Path:
    """Mean cost per episode against each headline column, with the Pareto front drawn;
    published methods (with a published cost) are hollow diamonds."""
    plt = _pyplot()
    columns = list(result.directions)
    every = cost_points(result, costs)
    fig, axes = plt.subplots(1, len(columns), figsize=(5.5 * len(columns), 4.5), squeeze=False,
                             layout="constrained")
    for ax, column in zip(axes[0], columns, strict=True):
        points = [p for p in every if p["column"] == column]
        for p in points:
            published = p["method"] in style.published
            ax.scatter(p["mean_cost"], p["value"], s=60, zorder=3, marker="D" if published else "o",
                       facecolors="none" if published else style.color(p["method"]),
                       edgecolors=style.color(p["method"]))
            ax.annotate(style.label(p["method"]), (p["mean_cost"], p["value"]), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")
        front = sorted((p for p in points if p["pareto"]), key=lambda p: p["mean_cost"])
        if len(front) > 1:
            xs = [p["mean_cost"] for p in front]
            ys = [p["value"] for p in front]
            ax.step(xs, ys, where="post", color="grey", linestyle="--", label="Pareto front")
            ax.legend(fontsize=8)
        ax.set_xlabel("mean cost per episode (USD)")
        ax.set_ylabel(column)
        ax.grid(alpha=0.3)
    fig.suptitle(f"cost vs {result.metric}")
    return _save(fig, path)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both lower cost and higher value, by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _stacked_shares(ax, labels: Sequence[str], counts: Sequence[Counter], categories: Sequence[str]) -> None:
    plt = _pyplot()
    colors = plt.get_cmap("tab10").colors
    left = [0.0] * len(labels)
    for j, category in enumerate(categories):
        shares = [c[category] / max(1, sum(c.values())) for c in counts]
        if any(shares):
            ax.barh(range(len(labels)), shares, left=left, color=colors[j % 10], label=category)
        left = [a + b for a, b in zip(left, shares, strict=True)]
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()  # first method on top
    ax.set_xlim(0, 1)
    ax.set_xlabel("share")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)


def exit_reasons(records: Sequence[ResultRecord], path: Path, label: Callable[[str], str] = str,
                 ) -> Path:
    """Share of each way of ending (the paper's categories, mlgym.scoring.analyses) among every
    method's episodes; ``label`` names a method (e.g. :meth:`Style.label`)."""
    return _shares_by_method(records, end_category, END_CATEGORIES, "how episodes ended", path,
                             label)


def outcomes(records: Sequence[ResultRecord], path: Path, label: Callable[[str], str] = str,
             ) -> Path:
    """Share of failed, incomplete and complete episodes of every method."""
    return _shares_by_method(records, outcome, OUTCOMES[::-1], "failed and incomplete runs", path,
                             label)


def _shares_by_method(records: Sequence[ResultRecord], key, categories: Sequence[str], title: str,
                      path: Path, label: Callable[[str], str] = str) -> Path:
    plt = _pyplot()
    methods = list(dict.fromkeys(r.method for r in records))
    counts = [Counter(key(r) for r in records if r.method == m) for m in methods]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(methods) + 1.5), layout="constrained")
    _stacked_shares(ax, [f"{label(m)} (n={sum(c.values())})"
                         for m, c in zip(methods, counts, strict=True)], counts, categories)
    ax.set_title(title)
    return _save(fig, path)


def action_kinds(records: Sequence[ResultRecord], path: Path, label: Callable[[str], str] = str,
                 ) -> Path:
    """Share of each kind of action among every method's actions."""
    plt = _pyplot()
    methods = list(dict.fromkeys(r.method for r in records))
    counts = [Counter(k for r in records if r.method == m for k in r.action_kinds) for m in methods]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(methods) + 1.5), layout="constrained")
    _stacked_shares(ax, [label(m) for m in methods], counts, ACTION_KINDS)
    ax.set_title("actions by kind")
    return _save(fig, path)


def action_kinds_by_step(records: Sequence[ResultRecord], path: Path,
                         label: Callable[[str], str] = str) -> Path:
    """Share of each action kind at each step of an episode: all methods, then one per method."""
    plt = _pyplot()
    methods = list(dict.fromkeys(r.method for r in records))
    panels: list[tuple[str, list[ResultRecord]]] = [("all methods", list(records))]
    if len(methods) > 1:
        panels += [(label(m), [r for r in records if r.method == m]) for m in methods]
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.4 * rows + 0.6), squeeze=False,
                             layout="constrained")
    colors = plt.get_cmap("tab10").colors
    for ax, (title, group) in zip(axes.flat, panels, strict=False):
        length = max(len(r.action_kinds) for r in group)
        at_step = [Counter(r.action_kinds[i] for r in group if i < len(r.action_kinds))
                   for i in range(length)]
        steps = list(range(1, length + 1))
        shares = [[c[k] / max(1, sum(c.values())) for c in at_step] for k in ACTION_KINDS]
        ax.stackplot(steps, shares, labels=ACTION_KINDS, colors=colors[: len(ACTION_KINDS)])
        ax.set_title(f"{title} ({len(group)} episodes)", fontsize=9)
        ax.set_xlim(1, max(2, length))
        ax.set_ylim(0, 1)
        ax.set_xlabel("step")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].set_ylabel("share of actions")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=len(ACTION_KINDS), fontsize=8)
    return _save(fig, path)


def draw_all(results: Mapping[str, MetricResult], records: Sequence[ResultRecord],
             costs: Mapping[str, float], style: Style, out: Path) -> list[Path]:
    """Every figure the data supports, written to ``out``; returns the files."""
    files: list[Path] = []
    for metric, result in results.items():
        if result.profiles:
            files.append(profiles(result, style, out / f"{metric}_profiles.png"))
        if result.summary_rows() and result.directions:
            files.append(summary_bars(result, style, out / f"{metric}_bars.png"))
            if sum(r["method"] in costs for r in result.summary_rows()) >= 1:
                files.append(cost_vs(result, costs, style, out / f"{metric}_cost.png"))
    own = [r for r in records if not r.origin.startswith("published:")]
    if own:
        files.append(outcomes(own, out / "outcomes.png", style.label))
        files.append(exit_reasons(own, out / "exit_reasons.png", style.label))
    with_actions = [r for r in own if r.action_kinds]
    if with_actions:
        files.append(action_kinds(with_actions, out / "action_kinds.png", style.label))
        files.append(action_kinds_by_step(with_actions, out / "action_kinds_by_step.png",
                                          style.label))
    return files


def search_gains(rows: Sequence[Mapping[str, Any]], style: Style, path: Path) -> Path:
    """Per task, every method's gain over the search reference (mlgym.scoring.search), as
    horizontal bars; 0, the search itself, is marked."""
    plt = _pyplot()
    rows = [r for r in rows if r["gain"] is not None]
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    height = 0.8 / max(1, len(methods))
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(tasks) * len(methods) + 1.8), layout="constrained")
    for j, method in enumerate(methods):
        gains = {r["task"]: r["gain"] for r in rows if r["method"] == method}
        ys = [i + j * height for i, t in enumerate(tasks) if t in gains]
        bars = ax.barh(ys, [gains[t] for t in tasks if t in gains], height=height,
                       color=style.color(method), label=style.label(method))
        if method in style.published:
            for bar in bars:
                bar.set_hatch("//")
    ax.axvline(0, color="black", linewidth=1, linestyle="-.")
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(tasks))], tasks, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("gain over search: (score - search) / (reference - baseline)")
    ax.set_title("LLM gain over search (0 = the search reference)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8)
    return _save(fig, path)
