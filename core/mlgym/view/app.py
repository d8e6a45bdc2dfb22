"""The viewer's web application: Starlette routes rendering Jinja2 templates on the server.

=====================  ==================================================================
``/``                  the run list: filters, sorting, pages, and the AUP of what is shown
``/episode/{id}``      one episode: score timeline, cost and tokens per step, the steps
                       with their discussion, action, observation, evaluation and diff
``/compare?a=&b=``     two episodes side by side, step by step
``/refresh``           find the episodes again (a running benchmark adds some)
``/api/episodes``      the run list as JSON (same filters)
=====================  ==================================================================

Pages need no JavaScript: long texts fold with ``<details>``, filters are a plain form.
"""

from __future__ import annotations

import functools
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mlgym.view.index import EpisodeIndex, EpisodeRow, summary_records
from mlgym.view.plots import Point, number, plotted_values, score_timeline, step_bars

TEMPLATES = Path(__file__).with_name("templates")
FILTERS = ("task", "method", "exit_reason", "state", "run")  # run: a folder given, or a benchmark run
FOLD_LINES = 12  # texts longer than this many lines are folded
FOLD_CHARS = 1500
TRAJECTORY_CACHE = 32


def create_app(index: EpisodeIndex) -> Starlette:
    """The viewer over ``index`` (already built)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.ChainableUndefined)  # optional keys read as empty
    env.filters["number"] = number
    env.filters["money"] = lambda v: "-" if v is None else f"${v:.4f}"
    env.globals["fold"] = _folded
    trajectories = _TrajectoryCache(TRAJECTORY_CACHE)
    aup_cache: OrderedDict[tuple, Any] = OrderedDict()

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    async def runs(request: Request) -> Response:
        q = request.query_params
        filters = {c: q.get(c, "") for c in FILTERS}
        sort, descending = q.get("sort", "task"), q.get("desc") == "1"
        matched, page_rows, pages = index.query(filters=filters, text=q.get("q", ""), sort=sort,
                                                descending=descending,
                                                page=_int(q.get("page"), 1))
        key = (tuple(sorted(filters.items())), q.get("q", ""), len(index.rows))
        if key not in aup_cache:
            aup_cache[key] = aup_table(matched)
            while len(aup_cache) > 64:
                aup_cache.popitem(last=False)
        return render("runs.html", rows=page_rows, matched=len(matched), total=len(index.rows),
                      pages=pages, page=min(max(_int(q.get("page"), 1), 1), pages),
                      filters=filters, text=q.get("q", ""), sort=sort, descending=descending,
                      choices={c: index.choices(c) for c in FILTERS}, aup=aup_cache[key],
                      problems=index.problems[:20], roots=[str(r) for r in index.roots],
                      link=functools.partial(_link, dict(q)))

    async def episode(request: Request) -> Response:
        row = index.by_id.get(request.path_params["id"])
        if row is None:
            return render("missing.html", 404, what=f"episode {request.path_params['id']}")
        view = episode_view(row, trajectories, index)
        others = [r for r in index.rows if r.task == row.task and r.id != row.id]
        return render("episode.html", row=row, view=view, others=others)

    async def compare(request: Request) -> Response:
        q = request.query_params
        rows = [index.by_id.get(q.get(k, "")) for k in ("a", "b")]
        if None in rows:
            return render("missing.html", 404, what="one of the two episodes to compare")
        views = [episode_view(r, trajectories, index) for r in rows]
        if all(v.get("points") for v in views) and views[0]["metric"] == views[1]["metric"]:
            for view, other in ((views[0], views[1]), (views[1], views[0])):  # one y axis
                view["plot"] = timeline(view, plotted_values(other["points"], other["baseline"]))
        count = max(len(v["steps"]) for v in views)
        pairs = [[v["steps"][n] if n < len(v["steps"]) else None for v in views]
                 for n in range(count)]
        return render("compare.html", rows=rows, views=views, pairs=pairs)

    async def refresh(request: Request) -> Response:
        index.build()
        aup_cache.clear()
        return RedirectResponse("/", status_code=303)

    async def api_episodes(request: Request) -> Response:
        q = request.query_params
        matched, page_rows, pages = index.query(
            filters={c: q.get(c, "") for c in FILTERS}, text=q.get("q", ""),
            sort=q.get("sort", "task"), descending=q.get("desc") == "1",
            page=_int(q.get("page"), 1))
        rows = [{k: v for k, v in r.to_json().items() if k != "record"} for r in page_rows]
        return JSONResponse({"matched": len(matched), "pages": pages, "rows": rows})

    return Starlette(routes=[Route("/", runs), Route("/episode/{id}", episode),
                             Route("/compare", compare), Route("/refresh", refresh),
                             Route("/api/episodes", api_episodes)])


# -- what the pages show ------------------------------------------------------------------------


def aup_table(rows: list[EpisodeRow]) -> dict[str, Any]:
    """AUP (best attempt, best submission) of each method over the rows shown, with the task's
    baseline as the comparator; ``{"rows": [...], "note": ...}``."""
    records = summary_records(rows)
    if not records:
        return {"rows": [], "note": "no finished episodes in view"}
    try:
        from mlgym.scoring import compute_metric, task_infos

        result = compute_metric("aup", records, task_infos({r.task for r in records}))
    except Exception as exc:  # no aup plugin, a task without metadata...
        return {"rows": [], "note": f"AUP not available: {exc}"}
    return {"rows": result.summary_rows(), "note": " ".join(result.notes)}


def episode_view(row: EpisodeRow, cache: _TrajectoryCache, index: EpisodeIndex) -> dict[str, Any]:
    """What the episode and compare pages show of one episode."""
    data = cache.get(row.trajectory) if row.trajectory else None
    if isinstance(data, str):
        return {"error": data, "steps": [], "plot": "", "cost_plot": "", "token_plot": "",
                "data": None, "evaluations": []}
    if data is None:
        return {"error": "this episode has not started: it has no trajectory yet", "steps": [],
                "plot": "", "cost_plot": "", "token_plot": "", "data": None, "evaluations": []}
    info = index.task_info(row.task, {"baseline": data.get("baseline"),
                                      "evaluations": data.get("evaluations")})
    metric = info.primary_metric if info else None
    by_step: dict[int, list[dict]] = {}
    for evaluation in data.get("evaluations") or []:
        by_step.setdefault(evaluation.get("step") or 0, []).append(evaluation)
    points = [Point(e.get("step") or 0, e["action"], e.get("split") or "",
                    (e.get("scores") or {}).get(metric) if e.get("ok") and metric else None)
              for e in data.get("evaluations") or []]
    steps = data.get("steps") or []
    recorded = any("changes" in s for s in steps)
    shown = []
    for step in steps:
        shown.append({**step, "evaluations": by_step.get(step["step"], []),
                      "changes": step.get("changes"), "recorded": recorded})
    baseline = (data.get("baseline") or {}).get(metric) if metric else None
    view = {
        "error": None, "data": data, "steps": shown, "metric": metric, "baseline": baseline,
        "points": points, "maximize": info.maximize if info else True,
        "evaluations": data.get("evaluations") or [],
        "after_steps": [e for e in data.get("evaluations") or []
                        if (e.get("step") or 0) not in {s["step"] for s in steps}],
        "cost_plot": step_bars([s.get("cost") or 0.0 for s in steps], label="dollars", css="cost-plot"),
        "token_plot": step_bars([(s.get("tokens") or {}).get("input", 0)
                                 + (s.get("tokens") or {}).get("output", 0) for s in steps],
                                label="tokens", css="token-plot"),
        "recorded": recorded,
        "version": data.get("schema_version"),
    }
    view["plot"] = timeline(view) if metric else ""
    return view


def timeline(view: dict[str, Any], shared: list[float] | None = None) -> str:
    """The score timeline of an episode's view (on a y axis holding ``shared`` too)."""
    return score_timeline(view["points"], steps=len(view["steps"]), metric=view["metric"],
                          maximize=view["maximize"], baseline=view["baseline"],
                          shared=shared or ())


class _TrajectoryCache:
    """The last few trajectories read (keyed by path and modification time); a file that cannot
    be read gives the sentence saying why."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[tuple[str, int], dict | str] = OrderedDict()

    def get(self, path: str) -> dict | str:
        from mlgym.agents import trajectory
        from mlgym.errors import ConfigError

        try:
            stamp = os.stat(path).st_mtime_ns
        except OSError as exc:
            return f"the trajectory cannot be read: {exc}"
        key = (path, stamp)
        if key not in self.items:
            try:
                value: dict | str = trajectory.load(path)
            except ConfigError as exc:
                value = str(exc)
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        self.items.move_to_end(key)
        return self.items[key]


def _folded(text: str | None) -> bool:
    """Whether a text is long enough to be folded."""
    text = text or ""
    return text.count("\n") >= FOLD_LINES or len(text) > FOLD_CHARS


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _link(query: dict[str, str], **changes: Any) -> str:
    """The run list's URL with some parameters changed (``None`` removes one)."""
    from urllib.parse import urlencode

    params = {**query, **{k: v for k, v in changes.items()}}
    return "/?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})
