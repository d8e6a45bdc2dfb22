"""The viewer's plots, drawn as inline SVG text (no plotting library, no JavaScript).

:func:`score_timeline` draws every evaluation of an episode against its step, with the task's
baseline and the best score so far; :func:`step_bars` draws one number per step (cost, tokens).
Every mark carries a ``<title>`` (the browser's tooltip) and ``data-`` attributes naming what it
shows, so a reader hovering and a test reading the page see the same values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 260
MARGIN = {"left": 64, "right": 16, "top": 16, "bottom": 40}
COLOURS = {"validate": "#1f77b4", "submit": "#d62728", "auto_submit": "#9467bd",
           "best": "#2ca02c", "baseline": "#7f7f7f", "bar": "#1f77b4", "failed": "#ff7f0e"}


@dataclass(frozen=True)
class Point:
    """One evaluation: its step, action, split, and the primary score (None if it failed)."""

    step: int
    action: str
    split: str
    score: float | None


def number(value: float | None) -> str:
    """A score or figure as the pages print it."""
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.4g}"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def plotted_values(points: Sequence[Point], baseline: float | None) -> list[float]:
    """The values a score timeline's y axis must hold."""
    return [p.score for p in points if p.score is not None] + (
        [baseline] if baseline is not None else [])


def score_timeline(points: Sequence[Point], *, steps: int, metric: str, maximize: bool = True,
                   baseline: float | None = None, shared: Sequence[float] = ()) -> str:
    """The score timeline of one episode as an ``<svg>`` element; ``shared`` holds the values
    of another plot to draw on the same y axis (two episodes compared)."""
    values = plotted_values(points, baseline)
    if not values:
        return _empty("no successful evaluation to plot")
    values += list(shared)
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low, high = low - pad, high + pad
    last = max([steps, 1] + [p.step for p in points])
    x0, x1 = MARGIN["left"], WIDTH - MARGIN["right"]
    y0, y1 = HEIGHT - MARGIN["bottom"], MARGIN["top"]

    def x(step: float) -> float:
        return x0 + (x1 - x0) * step / last

    def y(value: float) -> float:
        return y0 - (y0 - y1) * (value - low) / (high - low)

    parts = [_axes(x0, x1, y0, y1, low, high, last, x, y, metric)]
    if baseline is not None:
        parts.append(f'<line class="baseline" data-baseline="{baseline!r}" x1="{x0}" x2="{x1}" '
                     f'y1="{y(baseline):.1f}" y2="{y(baseline):.1f}" stroke="{COLOURS["baseline"]}"'
                     f' stroke-dasharray="6 4"><title>baseline {number(baseline)}</title></line>')
        parts.append(f'<text x="{x1 - 4}" y="{y(baseline) - 4:.1f}" text-anchor="end" '
                     f'font-size="11" fill="{COLOURS["baseline"]}">baseline {number(baseline)}</text>')
    best_path: list[str] = []
    best: float | None = None
    for p in sorted(points, key=lambda p: p.step):
        if p.score is None:
            continue
        if best is None:
            best = p.score
            best_path.append(f"M{x(p.step):.1f},{y(best):.1f}")
            continue
        best_path.append(f"L{x(p.step):.1f},{y(best):.1f}")
        if p.score > best if maximize else p.score < best:
            best = p.score
            best_path.append(f"L{x(p.step):.1f},{y(best):.1f}")
    if best is not None:
        best_path.append(f"L{x(last):.1f},{y(best):.1f}")
        parts.append(f'<path class="best-so-far" data-best="{best!r}" d="{" ".join(best_path)}" '
                     f'fill="none" stroke="{COLOURS["best"]}" stroke-width="2">'
                     f'<title>best so far: {number(best)}</title></path>')
    for p in points:
        colour = COLOURS.get(p.action, COLOURS["validate"])
        label = f"step {p.step}: {p.action} on {p.split}: "
        if p.score is None:
            parts.append(f'<text class="evaluation failed" data-step="{p.step}" x="{x(p.step):.1f}"'
                         f' y="{y0 - 4}" text-anchor="middle" fill="{COLOURS["failed"]}" '
                         f'font-size="14">&#215;<title>{escape(label)}failed</title></text>')
            continue
        shape = (f'<circle cx="{x(p.step):.1f}" cy="{y(p.score):.1f}" r="5"' if p.action == "validate"
                 else f'<rect x="{x(p.step) - 5:.1f}" y="{y(p.score) - 5:.1f}" width="10" height="10"')
        parts.append(f'{shape} class="evaluation" data-step="{p.step}" data-action="{p.action}" '
                     f'data-score="{p.score!r}" fill="{colour}">'
                     f'<title>{escape(label)}{metric} {number(p.score)}</title>'
                     + ("</circle>" if p.action == "validate" else "</rect>"))
    legend = [("validate", "circle"), ("submit", "rect"), ("best so far", "best"),
              ("baseline", "baseline")]
    parts.append(_legend(legend, x0))
    return _svg("score-timeline", f"score timeline of {metric}", parts)


def step_bars(values: Sequence[float], *, label: str, css: str) -> str:
    """One bar per step (step 1 first) as an ``<svg>`` element."""
    if not values or not any(values):
        return _empty(f"no {label} recorded")
    height = 140
    x0, x1, y0, y1 = MARGIN["left"], WIDTH - MARGIN["right"], height - 28, 10
    top = max(values)
    width = (x1 - x0) / len(values)
    parts = [f'<line x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}" stroke="#333"/>',
             f'<text x="{x0 - 6}" y="{y1 + 8}" text-anchor="end" font-size="11">{number(top)}</text>',
             f'<text x="{x0 - 6}" y="{y0}" text-anchor="end" font-size="11">0</text>',
             f'<text x="{(x0 + x1) / 2}" y="{height - 6}" text-anchor="middle" font-size="11">step'
             f' ({escape(label)})</text>']
    for n, value in enumerate(values, 1):
        h = (y0 - y1) * value / top if top else 0
        parts.append(f'<rect class="bar" data-step="{n}" data-value="{value!r}" '
                     f'x="{x0 + (n - 1) * width + width * 0.1:.1f}" y="{y0 - h:.1f}" '
                     f'width="{max(width * 0.8, 1):.1f}" height="{h:.1f}" fill="{COLOURS["bar"]}">'
                     f'<title>step {n}: {number(value)} {escape(label)}</title></rect>')
    return _svg(css, label, parts, height)


def _axes(x0, x1, y0, y1, low, high, last, x, y, metric) -> str:
    out = [f'<line x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}" stroke="#333"/>',
           f'<line x1="{x0}" x2="{x0}" y1="{y0}" y2="{y1}" stroke="#333"/>']
    for tick in _ticks(low, high):
        out.append(f'<line x1="{x0 - 4}" x2="{x1}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                   'stroke="#e5e5e5"/>')
        out.append(f'<text x="{x0 - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                   f'font-size="11">{number(tick)}</text>')
    for tick in _ticks(0, last, min(last, 10)):
        if float(tick).is_integer():
            out.append(f'<text x="{x(tick):.1f}" y="{y0 + 16}" text-anchor="middle" '
                       f'font-size="11">{int(tick)}</text>')
    out.append(f'<text x="{(x0 + x1) / 2}" y="{HEIGHT - 6}" text-anchor="middle" '
               'font-size="12">step</text>')
    out.append(f'<text transform="translate(14 {(y0 + y1) / 2}) rotate(-90)" text-anchor="middle" '
               f'font-size="12">{escape(metric)}</text>')
    return "".join(out)


def _legend(items, x0) -> str:
    out, x = [], x0 + 8
    for name, kind in items:
        if kind == "circle":
            mark = f'<circle cx="{x + 5}" cy="{MARGIN["top"] + 2}" r="5" fill="{COLOURS["validate"]}"/>'
        elif kind == "rect":
            mark = (f'<rect x="{x}" y="{MARGIN["top"] - 3}" width="10" height="10" '
                    f'fill="{COLOURS["submit"]}"/>')
        else:
            dash = ' stroke-dasharray="6 4"' if kind == "baseline" else ""
            mark = (f'<line x1="{x - 2}" x2="{x + 12}" y1="{MARGIN["top"] + 2}" '
                    f'y2="{MARGIN["top"] + 2}" stroke="{COLOURS[kind]}" stroke-width="2"{dash}/>')
        out.append(mark + f'<text x="{x + 16}" y="{MARGIN["top"] + 6}" font-size="11">'
                   f'{escape(name)}</text>')
        x += 16 + 7 * len(name) + 14
    return "".join(out)


def _svg(css: str, title: str, parts: list[str], height: int = HEIGHT) -> str:
    return (f'<svg class="{css}" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} '
            f'{height}" width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg" '
            f'font-family="sans-serif">' + "".join(parts) + "</svg>")


def _empty(message: str) -> str:
    return f'<p class="empty-plot">{escape(message)}</p>'
