"""The player of the 3sat task: the DPLL solver with the agent's heuristic, one instance a call.

Started by MLGym in a sandbox of its own (the workspace read-only, no hidden data, a fresh
``/tmp``), apart from ``evaluate.py``, the referee, which times every call and trusts nothing this
process says (``mlgym_player.py`` has the protocol):

    import_heuristic              imports heuristic.py from the workspace
    solve(num_vars, clauses)      -> {"sat", "model", "decisions", "backtracks", "trace"}

``random`` is seeded by the referee before every instance. Whatever the heuristic prints goes to
stderr. The referee checks every model against the original formula and replays every search.
"""

import mlgym_player
from dpll import DPLLSolver, HeuristicError

heuristic = None


def import_heuristic():
    global heuristic
    heuristic = mlgym_player.workspace_function("heuristic.py", "heuristic_fn")


def solve(num_vars, clauses):
    if heuristic is None:
        raise HeuristicError("heuristic.py was not imported")
    result = DPLLSolver(num_vars, [tuple(clause) for clause in clauses], heuristic).solve()
    model = [v if value else -v for v, value in sorted(result.assignment.items())]
    return {"sat": result.satisfiable, "model": model, "decisions": result.decisions,
            "backtracks": result.backtracks, "trace": result.trace}


if __name__ == "__main__":
    mlgym_player.serve({"import_heuristic": import_heuristic, "solve": solve})
