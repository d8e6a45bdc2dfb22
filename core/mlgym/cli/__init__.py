"""The ``mlgym`` command line. Each sub-command lives in its own module with ``register()``.

Modules are imported only when the command line is built, and heavy libraries (litellm, docker,
matplotlib) only inside the command that needs them, so ``mlgym --help`` stays fast.
:mod:`mlgym.cli.tooldocs` is a program of its own (``python -m mlgym.cli.tooldocs``).

Layer: the top; imports any part of the core except :mod:`mlgym.testing`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from mlgym import __version__
from mlgym.errors import MLGymError

# one module per command family; each has register(subparsers)
COMMAND_MODULES = [
    "mlgym.cli.catalog",  # list, info
    "mlgym.cli.checks",  # validate, schema, doctor
    "mlgym.cli.scaffold",  # new
    "mlgym.cli.episodes",  # run, show, replay
    "mlgym.cli.bench",  # bench run, bench status
    "mlgym.cli.reports",  # report
    "mlgym.cli.export",  # export
    "mlgym.cli.serve",  # serve
    "mlgym.cli.view",  # view
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgym",
        description="MLGym: run and benchmark AI research agents on ML research tasks.",
    )
    parser.add_argument("--version", action="version", version=f"mlgym {__version__}")
    parser.add_argument("--cache-dir", help="cache for datasets, environments and images "
                        "(env MLGYM_CACHE_DIR; default: the platform's user cache folder)")
    parser.add_argument("--results-dir", help="where episodes write results (env MLGYM_RESULTS_DIR; "
                        "default: the platform's user data folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a command family not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # flags win over the environment; the locations module reads the environment
    for flag, var in (("cache_dir", "MLGYM_CACHE_DIR"), ("results_dir", "MLGYM_RESULTS_DIR")):
        if getattr(args, flag):
            os.environ[var] = os.path.abspath(getattr(args, flag))
    try:
        return int(args.func(args) or 0)
    except MLGymError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
