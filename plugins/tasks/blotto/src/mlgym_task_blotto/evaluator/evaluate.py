"""Evaluator of iterated Colonel Blotto.

Plays the agent's ``row_strategy(history)`` (``strategy.py`` in the workspace) for 10,000 games of
10 rounds against the column player of ``opponent.py`` and prints ``{"score": S}`` as the last
line of stdout: the row player's mean payoff per round (higher is better). A round pays +1 to the
player who wins more of the 6 battlefields (by sending more soldiers there), -1 to the other, and
0 to both on a tie.

MLGym sets MLGYM_WORKSPACE, MLGYM_SPLIT (dev or test: each plays its own games), MLGYM_SEED and
MLGYM_HIDDEN_DIR (the secret part of the opponent's seed). Run by hand, ``python evaluate.py``
scores ./strategy.py on split dev, seed 0, with a public seed.

The score is a function of strategy, split and seed. Before each game the global ``random``
module (and numpy's) is seeded for the strategy; the opponent has its own generator, out of the
strategy's reach. What the strategy prints goes to stderr. An allocation other than 6
non-negative integers summing to at most 120, or an exception in the strategy, fails the
evaluation with a message naming the game and the round.
"""

import importlib.util
import json
import numbers
import os
import random
import sys
import traceback
from pathlib import Path

from opponent import column_move

try:
    import numpy
except ImportError:  # optional: seeded only for strategies that can use it
    numpy = None

GAMES, ROUNDS = 10_000, 10
FIELDS, SOLDIERS = 6, 120
Allocation = tuple[int, ...]


class StrategyError(Exception):
    """The agent's strategy failed; the message says where and why."""


def load_strategy(path: Path):
    """``row_strategy`` from ``path`` (strategy.py)."""
    if not path.is_file():
        raise StrategyError(f"{path} not found: define row_strategy(history) in strategy.py")
    spec = importlib.util.spec_from_file_location("strategy", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        traceback.print_exc()
        raise StrategyError(f"importing strategy.py failed: {exc!r}") from None
    if not callable(getattr(module, "row_strategy", None)):
        raise StrategyError("strategy.py defines no function row_strategy(history)")
    return module.row_strategy


def allocation_problem(move) -> str | None:
    """What makes ``move`` an invalid allocation, or None if it is valid."""
    if isinstance(move, (str, bytes, dict, set)) or not hasattr(move, "__len__"):
        return f"an allocation must be a list of {FIELDS} integers"
    if len(move) != FIELDS:
        return f"an allocation must have {FIELDS} battlefields, not {len(move)}"
    if not all(type(x) is int or (isinstance(x, numbers.Integral) and not isinstance(x, bool))
               for x in move):  # plain ints first: the isinstance check on numbers is slow
        return "soldiers must be whole numbers (int)"
    if min(move) < 0:
        return "no battlefield may get a negative number of soldiers"
    if sum(move) > SOLDIERS:
        return f"the allocation uses {sum(move)} soldiers, more than the {SOLDIERS} available"
    return None


def row_payoff(row: Allocation, column: Allocation) -> int:
    """+1 if the row player wins more battlefields than the column player, -1 if fewer, else 0."""
    margin = sum((r > c) - (r < c) for r, c in zip(row, column, strict=True))
    return (margin > 0) - (margin < 0)


def row_move(strategy, history: list, where: str) -> Allocation:
    """The strategy's next allocation, checked."""
    try:
        move = strategy(list(history))  # a copy: the strategy cannot rewrite the record
    except (Exception, SystemExit) as exc:
        traceback.print_exc()
        raise StrategyError(f"row_strategy raised {exc!r} {where} (history {history})") from None
    problem = allocation_problem(move)
    if problem is None:
        return tuple(int(x) for x in move)
    raise StrategyError(f"row_strategy returned {move!r} {where} (history {history}); {problem}")


def play(strategy, key: str) -> float:
    """The row player's mean payoff per round over GAMES games of ROUNDS rounds."""
    total = 0
    for game in range(GAMES):
        random.seed(f"{key}:row:{game}")
        if numpy is not None:
            numpy.random.seed(random.getrandbits(32))
        opponent_rng = random.Random(f"{key}:column:{game}")
        history: list[tuple[Allocation, Allocation]] = []
        for round_ in range(ROUNDS):
            row = row_move(strategy, history, f"in game {game + 1}, round {round_ + 1}")
            column = column_move(list(history), opponent_rng)
            total += row_payoff(row, column)
            history.append((row, column))
    return total / (GAMES * ROUNDS)


def main() -> int:
    metrics_out = os.fdopen(os.dup(1), "w")  # the metrics line alone goes to the real stdout
    os.dup2(2, 1)
    split, seed = os.environ.get("MLGYM_SPLIT", "dev"), os.environ.get("MLGYM_SEED", "0")
    if split not in ("dev", "test") or not seed.lstrip("-").isdigit():
        sys.exit(f"MLGYM_SPLIT={split!r}, MLGYM_SEED={seed!r}: expected dev or test and an integer")
    hidden = os.environ.pop("MLGYM_HIDDEN_DIR", "")  # out of the strategy's sight
    if not hidden:
        print("note: MLGYM_HIDDEN_DIR is unset, so the games use a public seed", file=sys.stderr)
    secret = Path(hidden, "opponent_seed.txt").read_text().strip() if hidden else "public"
    key = f"{secret}:{split}:{seed}"
    workspace = os.environ.get("MLGYM_WORKSPACE", ".")
    sys.path.append(workspace)  # strategy.py may import its own modules
    sys.dont_write_bytecode = True  # leave no __pycache__ in the agent's workspace
    try:
        random.seed(f"{key}:import")
        score = play(load_strategy(Path(workspace, "strategy.py")), key)
    except StrategyError as exc:
        print(f"evaluation failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"score": score}), file=metrics_out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
