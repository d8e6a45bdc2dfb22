"""``mlgym view``: browse episodes and benchmark runs in a web browser."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "view", help="browse episodes and benchmark runs in a web browser",
        description="Serve a local web page over the episodes under RESULTS (folders of "
                    "result.json and trajectory.json files, benchmark run folders): the run list "
                    "with filters and the AUP of what is shown, each episode's steps, score "
                    "timeline and workspace diffs, and two episodes side by side.")
    p.add_argument("results", nargs="*", metavar="RESULTS",
                   help="folders or result.json files (default: the results dir)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                   "127.0.0.1, this machine only; the pages show workspaces and prompts)")
    p.add_argument("--port", type=int, default=0, help="port (default: 0, any free one)")
    p.add_argument("--no-cache", action="store_true", help="read every result.json again "
                   "instead of the index cached under the cache dir")
    p.set_defaults(func=cmd_view)


def cmd_view(args) -> int:
    try:
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        print(f"error: mlgym view needs {exc.name}: pip install 'mlgym-core[view]'",
              file=sys.stderr)
        return 1
    from mlgym.locations import results_dir
    from mlgym.view.server import make_index, serve

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: anyone who can reach it reads the episodes "
              "(prompts, workspaces, diffs); there is no login", file=sys.stderr)
    index = make_index(args.results or [results_dir()], cache=not args.no_cache)
    for problem in index.problems[:5]:
        print(f"warning: {problem}", file=sys.stderr)
    serve(index, args.host, args.port, announce=lambda line: print(line, flush=True))
    return 0
