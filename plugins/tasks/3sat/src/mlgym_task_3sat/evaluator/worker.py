"""Solves instances with the agent's heuristic, one request at a time, in its own process.

Started by ``evaluate.py`` as ``python worker.py INSTANCES HEURISTIC WORKSPACE SEED``. Once the
instances are loaded it says {"ready": true}; then it reads commands on stdin and answers each
with one JSON line on the original stdout:

    import      -> {"ok": true}                      (imports the heuristic module)
    solve <i>   -> {"sat": ..., "model": [...], "decisions": n, "backtracks": n, "trace": [...]}
    quit

Any failure is answered with {"error": "..."}. Whatever the heuristic prints goes to /dev/null,
so it cannot disturb the answers. Nothing this process says is trusted: the parent times every
request itself, checks models against the original formula and replays every search.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sys
import traceback
from pathlib import Path

from dpll import DPLLSolver, HeuristicError
from instances import load_instances


def _import_heuristic(path: Path, workspace: Path):
    sys.path.append(str(workspace))  # after the evaluator: the heuristic may import its own helpers
    spec = importlib.util.spec_from_file_location("heuristic", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["heuristic"] = module
    spec.loader.exec_module(module)
    heuristic = getattr(module, "heuristic_fn", None)
    if not callable(heuristic):
        raise HeuristicError(f"{path.name} must define a function heuristic_fn(clauses, "
                             "assignment, info)")
    return heuristic


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, HeuristicError):
        return str(exc)
    frames = traceback.format_exception(exc)
    return "".join(frames[-8:]).rstrip()


def main(instances_path: str, heuristic_path: str, workspace: str, seed: str) -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # from now on, whatever the heuristic prints vanishes
    instances = load_instances(Path(instances_path))
    heuristic = None

    def answer(payload: dict) -> None:
        answers.write(json.dumps(payload, separators=(",", ":")) + "\n")

    answer({"ready": True})

    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        try:
            if command == "import":
                heuristic = _import_heuristic(Path(heuristic_path), Path(workspace))
                answer({"ok": True})
            elif command == "solve":
                instance = instances[int(argument)]
                random.seed(f"{seed}/{instance.name}")
                result = DPLLSolver(instance.num_vars, instance.clauses, heuristic).solve()
                model = [v if value else -v for v, value in sorted(result.assignment.items())]
                answer({"sat": result.satisfiable, "model": model, "decisions": result.decisions,
                        "backtracks": result.backtracks, "trace": result.trace})
            elif command == "quit":
                break
            else:
                answer({"error": f"unknown command {command!r}"})
        except Exception as exc:  # the heuristic's bug, reported to the agent
            answer({"error": _error_text(exc)})


if __name__ == "__main__":
    main(*sys.argv[1:5])
