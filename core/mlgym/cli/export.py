"""``mlgym export``: episodes as training data (chat records, ATIF documents, step records)."""

from __future__ import annotations

import argparse

KIND_HELP = ("sft: chat records, replies in the text-command format; sft-tools: chat records "
             "with native tool calls; atif: one Harbor ATIF document per episode (OUT is a "
             "folder); steps: mlgym-steps/1 transitions for RL")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="turn trajectories into training data",
        description="Export episodes (trajectory files, folders holding them, or a `mlgym bench` "
                    "run's folder) as training data. Chat records are TRL's conversational "
                    "prompt-completion format, one per model call, with the messages as the "
                    "agent sent them. Secrets and the harness's paths are replaced; with "
                    "--split dev (the default) no test-split result reaches the records.")
    p.add_argument("sources", nargs="+", help="trajectory.json files or folders")
    p.add_argument("--kind", choices=["sft", "sft-tools", "atif", "steps"], default="sft",
                   help=KIND_HELP)
    p.add_argument("--out", required=True, help="output file (.jsonl or .parquet), or folder "
                   "for --kind atif")
    p.add_argument("--file-format", choices=["jsonl", "parquet"],
                   help="default: from the suffix of --out")
    p.add_argument("--task", action="append", help="only this task (repeatable)")
    p.add_argument("--method", action="append", help="only this method, e.g. "
                   "react:openai/gpt-4o (repeatable)")
    p.add_argument("--exit-reason", action="append", help="only episodes that ended so "
                   "(repeatable), e.g. submitted")
    p.add_argument("--min-score", type=float, help="only episodes whose best score (primary "
                   "metric, on --split) is at least this good")
    p.add_argument("--top-k", type=int, help="only the k best episodes of each task")
    p.add_argument("--split", choices=["dev", "test", "any"], default="dev",
                   help="whose evaluations count for scores and appear in the records: dev "
                        "(default; test-split results are withheld), test, or any")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from mlgym.export import Selection, export

    selection = Selection(
        tasks=tuple(args.task) if args.task else None,
        methods=tuple(args.method) if args.method else None,
        exit_reasons=tuple(args.exit_reason) if args.exit_reason else None,
        min_score=args.min_score, top_k=args.top_k, split=args.split)
    report = export(args.sources, args.kind, args.out, selection, args.file_format)
    for episode, reason in report.skipped:
        print(f"left out {episode}: {reason}")
    print(f"{report.records} {'documents' if args.kind == 'atif' else 'records'} from "
          f"{report.episodes} episodes written to {report.path}")
    return 0
