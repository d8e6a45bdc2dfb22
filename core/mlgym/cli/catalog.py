"""``mlgym list`` and ``mlgym info``: what the installed plugins provide."""

from __future__ import annotations

import argparse
import json
import sys

from mlgym.plugins.registry import KINDS, get_registry
from mlgym.specs.tasks import describe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list installed tasks, datasets, agents, tools, metrics or backends",
                       description="List what the installed plugins provide, with the distribution each comes from.")
    p.add_argument("kind", choices=[k for k in KINDS if k != "services"], help="what to list")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="describe one task", description="Describe a task: what the agent must do, "
                       "metrics and direction, baseline, paper figures, datasets, compute needs.")
    p.add_argument("task_id")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)


def _summary(kind: str, value) -> str:
    if kind == "tasks":
        m = value.primary_metric
        base = value.baseline.get(m.name)
        return f"{value.name} ({m.name}, {m.direction}; baseline {describe(base)})"
    if kind == "datasets":
        return value.name
    if kind == "tools":
        return ", ".join(c.signature for c in value.commands)
    if kind == "backends":
        reason = value.probe()
        status = "available" if reason is None else f"unavailable: {reason}"
        isolation = "" if value.isolated else " [NO ISOLATION]"
        return f"{value.description}{isolation} ({status})"
    return getattr(value, "description", "") or ""


def cmd_list(args) -> int:
    registry = get_registry()
    rows = [(e.id, e.distribution, _summary(args.kind, e.value))
            for e in sorted(registry.entries[args.kind].values(), key=lambda e: e.id)]
    if args.json:
        print(json.dumps([{"id": i, "distribution": d, "summary": s} for i, d, s in rows], indent=2))
    elif not rows:
        print(f"no {args.kind} installed (see `mlgym doctor`)")
    else:
        w_id = max(len(r[0]) for r in rows)
        w_dist = max(len(r[1]) for r in rows)
        for i, d, s in rows:
            print(f"{i:<{w_id}}  {d:<{w_dist}}  {s}")
    for failure in registry.failures:
        print(f"warning: plugin {failure.plugin} ({failure.distribution}) failed: {failure.error}",
              file=sys.stderr)
    return 0


def task_info(task) -> dict:
    return {
        "id": task.id,
        "name": task.name,
        "description": task.description,
        "metrics": [{"name": m.name, "direction": m.direction, "primary": m.primary} for m in task.metrics],
        "baseline": dict(task.baseline),
        "paper": {"baseline": dict(task.paper_baseline), "best": dict(task.paper_best),
                  "best_method": task.paper_best_method},
        "datasets": [{"id": d, "mount": m} for d, m in task.datasets],
        "compute": {"cpus": task.compute.cpus, "memory_mb": task.compute.memory_mb, "gpus": task.compute.gpus},
        "limits": {"max_steps": task.max_steps, "command_timeout": task.command_timeout,
                   "training_timeout": task.training_timeout, "time_limit": task.time_limit},
        "submission": list(task.submission_files),
        "source": str(task.source_file),
    }


def cmd_info(args) -> int:
    registry = get_registry()
    task = registry.task(args.task_id)
    info = task_info(task)
    info["distribution"] = registry.entry("tasks", task.id).distribution
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{task.name}  [{task.id}]  from {info['distribution']}")
    print()
    print(task.description)
    print()
    print("metrics:")
    for m in task.metrics:
        flag = " (primary)" if m.primary else ""
        print(f"  {m.name:<16} {m.direction}{flag}  baseline {describe(task.baseline.get(m.name))}"
              f"  paper baseline {describe(task.paper_baseline.get(m.name))}"
              f"  paper best {describe(task.paper_best.get(m.name))}")
    if task.datasets:
        print("datasets:")
        for d, mount in task.datasets:
            print(f"  {d} -> {mount}")
    c = task.compute
    print(f"compute: {c.cpus:g} CPU, {c.memory_mb} MiB memory, {c.gpus} GPU")
    print(f"limits: {task.max_steps} steps, command timeout {task.command_timeout:g}s, "
          f"training timeout {task.training_timeout:g}s")
    if task.submission_files:
        print(f"submission: {', '.join(task.submission_files)}")
    return 0
