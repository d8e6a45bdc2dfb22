"""``mlgym report``: tables and figures comparing methods across tasks."""

from __future__ import annotations

import argparse

from mlgym.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="compare methods across tasks: Markdown, CSV tables and PNG plots",
        description="Read result records (result.json files, .jsonl files or folders searched "
                    "recursively), compute the installed metrics (AUP, normalised improvement, "
                    "rank...) and write report.md, CSV tables and PNG plots into --out. "
                    "--published adds published methods beside your own; with --published "
                    "alone the report covers the published methods.")
    p.add_argument("results", nargs="*", help="result.json files, .jsonl files or folders")
    p.add_argument("--out", required=True, help="folder to write the report into")
    p.add_argument("--published", metavar="FILE",
                   help="published per-task scores: a file in the format of mlgym-published-results.json, "
                   "or 'mlgym-bench' for the MLGym paper's figures shipped with MLGym")
    p.add_argument("--metrics", nargs="+", metavar="ID",
                   help="metric ids to compute (default: every installed metric; see "
                        "`mlgym list metrics`)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap replicates for confidence intervals over seeds (0: none)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--reference", action="append", default=[], metavar="TASK=VALUE",
                   help="reference score of a task for normalised improvement (default: the "
                        "paper's best); repeatable")
    p.set_defaults(func=cmd_report)


def _references(items: list[str]) -> dict[str, float]:
    references = {}
    for item in items:
        task, sep, value = item.partition("=")
        try:
            references[task] = float(value)
        except ValueError:
            sep = ""
        if not sep or not task:
            raise ConfigError(f"--reference {item!r}: write TASK=VALUE, e.g. --reference blotto=0.5")
    return references


def cmd_report(args) -> int:
    from mlgym.scoring.report import build_report

    if args.bootstrap < 0:
        raise ConfigError(f"--bootstrap {args.bootstrap}: give 0 (no intervals) or a positive count")
    options = {"reference": _references(args.reference)} if args.reference else {}
    results = [_bench_records(path, args.out) for path in args.results]
    report = build_report(results, args.out, published=args.published, metrics=args.metrics,
                          bootstrap=args.bootstrap, seed=args.seed, options=options)
    for metric, why in report.skipped.items():
        print(f"warning: metric {metric} not computed: {why}")
    aup = report.results.get("aup")
    if aup is not None:
        print(f"{'method':<32} {'best attempt AUP':>16} {'best submission AUP':>20}")
        for row in aup.summary_rows():
            print(f"{row['method']:<32} {row['best_attempt_aup']:>16.3f} {row['best_submission_aup']:>20.3f}")
    print(f"wrote {len(report.files)} files to {report.out} (open {report.out / 'report.md'})")
    return 0


def _bench_records(path: str, out: str) -> str:
    """A benchmark run's folder is read from its store (failed and cut-off episodes included,
    each record once): its records go to ``<out>/<run>.records.jsonl``, which is read instead."""
    import json
    from pathlib import Path

    from mlgym.bench.store import RunStore, run_records

    if not RunStore.is_run(path):
        return path
    target = Path(out) / f"{Path(path).resolve().name}.records.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    pairs = list(run_records(path))
    lines = [json.dumps({**record, "bench_state": row.state}) for row, record in pairs if record]
    target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"{path}: benchmark run, {len(lines)} episodes from its store"
          + (f" ({len(pairs) - len(lines)} not started yet)" if len(pairs) > len(lines) else ""))
    return str(target)
