"""``mlgym validate``, ``mlgym schema`` and ``mlgym doctor``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from mlgym.errors import ConfigError
from mlgym.specs.config import available_schemas, load_schema, load_yaml, validate_data

_FILE_KINDS = {"task.yaml": "task", "dataset.yaml": "dataset", "bundle.yaml": "tools"}
_SKIP_DIRS = {".git", "__pycache__", "node_modules", ".venv", "venv", "build", "dist"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check YAML files or plugin folders against their schemas",
                       description="Check a YAML file, or every task.yaml/dataset.yaml/bundle.yaml under a "
                       "folder, against MLGym's schemas. Reports every error with file, line and column; "
                       "exit code 1 when any is found. With no path, checks every installed plugin.")
    p.add_argument("paths", nargs="*", type=Path, help="YAML files or folders (default: installed plugins)")
    p.add_argument("--schema", choices=available_schemas(), help="schema to use (default: from the file name "
                   "or content)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print a JSON Schema", description="Print one of MLGym's JSON Schemas, "
                       "e.g. for an editor's YAML language server.")
    p.add_argument("name", help=f"one of: {', '.join(available_schemas())}")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("doctor", help="check this installation", description="Show what is installed, which "
                       "plugins failed to load, which sandbox backends work on this machine and what "
                       "MLGym processes that ended without closing their environments left behind.")
    p.add_argument("--json", action="store_true")
    p.add_argument("--clean", action="store_true", help="unmount and remove what dead MLGym processes left "
                   "behind (episode folders, mounted disks and tmpfs)")
    p.set_defaults(func=cmd_doctor)


def guess_schema(path: Path, data) -> str | None:
    """The schema a YAML file is meant for, from its name or its keys."""
    if path.name in _FILE_KINDS:
        return _FILE_KINDS[path.name]
    if isinstance(data, dict):
        keys = set(data)
        if {"tasks", "agents"} <= keys:
            return "run"
        if "metrics" in keys and "evaluator" in keys:
            return "task"
        if "commands" in keys:
            return "tools"
        if "sources" in keys:
            return "dataset"
        if "agent" in keys:
            return "agent"
    return None


def check_file(path: Path, schema: str | None = None) -> list[str]:
    """Every problem of one YAML file, as printable lines."""
    try:
        data, positions = load_yaml(path)
    except ConfigError as exc:
        return [str(p) for p in exc.problems] or [str(exc)]
    schema = schema or guess_schema(path, data)
    if schema is None:
        return [f"{path}:1:1: cannot tell which schema applies; name the file task.yaml, dataset.yaml or "
                "bundle.yaml, or pass --schema"]
    problems = validate_data(data if data is not None else {}, schema, str(path), positions)
    if schema == "run" and not problems:  # ids against the installed plugins, labels, paths
        from mlgym.bench.config import run_problems

        problems = run_problems(data, positions, str(path))
    return [str(p) for p in problems]


def _yaml_files(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        found += [Path(root) / f for f in sorted(files) if f in _FILE_KINDS]
    return found


def cmd_validate(args) -> int:
    problems: list[str] = []
    checked = 0
    if not args.paths:
        from mlgym.plugins.registry import get_registry

        registry = get_registry()
        for kind in ("tasks", "datasets", "tools"):
            for entry in registry.entries[kind].values():
                checked += 1
                source = getattr(entry.value, "source_file", None) or entry.value.root
                print(f"ok  {kind[:-1] if kind != 'tools' else 'tools'} {entry.id}  ({entry.distribution}: {source})")
        problems += [f"plugin {f.plugin} ({f.distribution}): {f.error}" for f in registry.failures]
    for path in args.paths:
        if path.is_dir():
            files = _yaml_files(path)
            if not files:
                problems.append(f"{path}: no task.yaml, dataset.yaml or bundle.yaml found")
        elif path.exists():
            files = [path]
        else:
            problems.append(f"{path}: no such file or folder")
            files = []
        for f in files:
            checked += 1
            errs = check_file(f, args.schema)
            problems += errs
            if not errs:
                print(f"ok  {f}")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {checked} file(s)", file=sys.stderr)
        return 1
    print(f"{checked} file(s) valid")
    return 0


def cmd_schema(args) -> int:
    print(json.dumps(load_schema(args.name), indent=2))
    return 0


def cmd_doctor(args) -> int:
    import importlib.metadata
    import platform

    from mlgym import __version__
    from mlgym.locations import cache_dir, results_dir
    from mlgym.plugins.registry import get_registry
    from mlgym.sandbox import leftovers

    registry = get_registry()
    removed = [str(p) for p in leftovers.sweep()] if args.clean else []
    stale = [str(p) for p in leftovers.stale()]
    dists = sorted({e.distribution for kind in registry.entries.values() for e in kind.values()})
    backends = {}
    for name, entry in sorted(registry.entries["backends"].items()):
        try:
            backends[name] = entry.value.probe()
        except Exception as exc:  # a broken probe is itself a finding
            backends[name] = f"probe failed: {exc!r}"
    report: dict[str, Any] = {
        "mlgym_core": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cache_dir": str(cache_dir()),
        "results_dir": str(results_dir()),
        "distributions": {d: _version(importlib.metadata, d) for d in dists},
        "counts": {k: len(v) for k, v in registry.entries.items()},
        "failures": [{"plugin": f.plugin, "distribution": f.distribution, "error": f.error} for f in registry.failures],
        "backends": {n: ("ok" if r is None else r) for n, r in backends.items()},
        "leftovers": {"stale": stale, "removed": removed},
        "datasets": _dataset_report(registry),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"mlgym-core {__version__} on Python {report['python']} ({report['platform']})")
    print(f"cache:   {report['cache_dir']}")
    print(f"results: {report['results_dir']}")
    print("installed plugin distributions:")
    for d, v in report["distributions"].items():
        print(f"  {d} {v}")
    print("provided: " + ", ".join(f"{n} {k}" for k, n in report["counts"].items()))
    print("sandbox backends:")
    for n, r in report["backends"].items():
        description = registry.get("backends", n).description
        print(f"  {n:<8} {'works here' if r == 'ok' else 'unavailable: ' + r}")
        if description:
            print(f"           {description}")
    if report["failures"]:
        print("plugins that failed to load:")
        for f in registry.failures:
            print(f"  {f.plugin} ({f.distribution}): {f.error}")
    else:
        print("no plugin failed to load")
    _print_datasets(report["datasets"])
    _print_leftovers(report["leftovers"], args.clean)
    return 0


def _dataset_report(registry) -> dict[str, dict[str, Any]]:
    """Each installed dataset: cached, available from a source here, or what it needs."""
    from mlgym.episode.datasets import status

    report = {}
    for name, entry in sorted(registry.entries["datasets"].items()):
        found = status(entry.value)
        report[name] = {"ready": found.ready,
                        "cached": str(found.cached) if found.cached else None,
                        "source": found.local, "needs": list(found.hints)}
    return report


def _print_datasets(datasets: dict[str, dict[str, Any]]) -> None:
    if not datasets:
        return
    print("datasets:")
    width = max(map(len, datasets))
    for name, d in datasets.items():
        if d["cached"]:
            state = f"ready (cached at {d['cached']})"
        elif d["source"]:
            state = f"ready (copied from {d['source']} on first use)"
        else:
            state = "not cached and no source on this machine; it needs one of:"
        print(f"  {name:<{width}}  {state}")
        if not d["ready"]:
            for need in d["needs"]:
                print(f"  {'':<{width}}    - {need}")


def _print_leftovers(found: dict[str, list[str]], cleaned: bool) -> None:
    for path in found["removed"]:
        print(f"removed {path}")
    if found["stale"]:
        state = "could not be removed" if cleaned else "remove them with `mlgym doctor --clean`"
        print(f"left behind by MLGym processes that ended without closing ({state}):")
        for path in found["stale"]:
            print(f"  {path}")
    elif not found["removed"]:
        print("nothing left behind by ended MLGym processes")


def _version(metadata, dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"
