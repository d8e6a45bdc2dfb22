"""``mlgym bench run`` and ``mlgym bench status``: benchmark runs of many episodes."""

from __future__ import annotations

import argparse
import json
import signal
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="run a benchmark: tasks x agents x seeds, in parallel, resumable",
        description="Benchmark runs: every task x agent x seed of a run config, run in "
                    "parallel, recorded in a SQLite store in the run's folder, resumable after "
                    "a crash or Ctrl-C. See docs/bench.md.")
    family = p.add_subparsers(dest="bench_command", metavar="SUBCOMMAND", required=True)

    run = family.add_parser(
        "run", help="start or resume a run",
        description="Start the run a config describes (see `mlgym schema run`), or resume it: "
                    "give the same config again, or the run's folder. Finished episodes are "
                    "kept; cut-off ones run again from the start.")
    run.add_argument("source", metavar="CONFIG_OR_RUN", help="run config YAML, or a run folder")
    run.add_argument("--executor", choices=["local", "ray"],
                     help="where episodes run (default: the config's, else local)")
    run.add_argument("--address", help="Ray cluster address for --executor ray, e.g. "
                     "127.0.0.1:6379 (default: the config's, else a local Ray)")
    run.add_argument("--retry-failed", action="store_true",
                     help="run the episodes that failed (exit reason error) again")
    run.add_argument("--quiet", action="store_true", help="print only the final status")
    run.set_defaults(func=cmd_run)

    status = family.add_parser("status", help="what a run has done, runs, failed and spent",
                               description="Show a run's episodes by state and method, what "
                               "they cost, which run now and why others failed.")
    status.add_argument("run", metavar="RUN", help="the run's folder, or its name under the "
                        "results dir")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=cmd_status)


def cmd_run(args) -> int:
    from mlgym.bench.progress import BenchProgress
    from mlgym.bench.runs import run_benchmark, status

    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill <pid>` stops like Ctrl-C
    try:
        result = run_benchmark(args.source, executor=args.executor, address=args.address,
                               retry_failed=args.retry_failed,
                               progress=BenchProgress(quiet=args.quiet))
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(format_status(status(result.run_dir)))
    if result.outcome.interrupted:
        print(f"interrupted; resume with: mlgym bench run {result.run_dir}")
        return 130
    return 0


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def cmd_status(args) -> int:
    from mlgym.bench.runs import resolve_run, status

    found = status(resolve_run(args.run))
    print(json.dumps(found, indent=1) if args.json else format_status(found))
    return 0


def format_status(s: dict) -> str:
    t = s["totals"]
    limit = f" of ${s['cost_limit']:.4f}" if s.get("cost_limit") is not None else ""
    lines = [f"run {s['run']}" + (f" (running now: {s['active']})" if s["active"] else ""),
             f"{t['total']} episodes: {t['done']} done, {t['running']} running, {t['failed']} "
             f"failed, {t['pending']} pending; cost ${t['cost']:.4f}{limit}; "
             f"{s['elapsed']:.0f} s run"]
    width = max([len("method")] + [len(m) for m in s["methods"]])
    lines.append(f"  {'method':<{width}}  {'done':>5} {'running':>7} {'failed':>6} "
                 f"{'pending':>7} {'cost':>10}")
    for method, m in s["methods"].items():
        lines.append(f"  {method:<{width}}  {m['done']:>5} {m['running']:>7} {m['failed']:>6} "
                     f"{m['pending']:>7} {'$' + format(m['cost'], '.4f'):>10}")
    now = time.time()
    for r in s["running"]:
        lines.append(f"running  {r['key']} for {now - (r['since'] or now):.0f} s, "
                     f"${r['cost']:.4f} ({r['worker']})")
    for r in s["failed"]:
        lines.append(f"failed   {r['key']}: {r['error'] or r['exit_reason']}")
    cut = sum(len(v) for v in s["interrupted"].values())
    if cut:
        lines.append(f"{cut} interrupted attempts of {len(s['interrupted'])} episodes kept under "
                     "interrupted/")
    return "\n".join(lines)

