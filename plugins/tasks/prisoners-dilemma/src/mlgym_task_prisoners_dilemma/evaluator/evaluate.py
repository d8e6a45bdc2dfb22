"""Evaluator of the iterated prisoner's dilemma.

Plays the agent's ``row_strategy(history)`` (``strategy.py`` in the workspace) for 10,000 games of
10 rounds against the column player of ``opponent.py`` and prints ``{"score": S}`` as the last
line of stdout: the row player's mean payoff per round (higher is better).

MLGym sets MLGYM_WORKSPACE, MLGYM_SPLIT (dev or test: each plays its own games), MLGYM_SEED and
MLGYM_HIDDEN_DIR (the secret part of the opponent's seed). Run by hand, ``python evaluate.py``
scores ./strategy.py on split dev, seed 0, with a public seed.

The score is a function of strategy, split and seed. Before each game the global ``random``
module (and numpy's) is seeded for the strategy; the opponent has its own generator, out of the
strategy's reach. What the strategy prints goes to stderr. A move other than 0 or 1, or an
exception in the strategy, fails the evaluation with a message naming the game and the round.
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
ROW_PAYOFF = ((3, 0), (5, 1))  # [row move][column move]; 0 = cooperate, 1 = defect


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


def row_move(strategy, history: list, where: str) -> int:
    """The strategy's next move, checked."""
    try:
        move = strategy(list(history))  # a copy: the strategy cannot rewrite the record
    except (Exception, SystemExit) as exc:
        traceback.print_exc()
        raise StrategyError(f"row_strategy raised {exc!r} {where} (history {history})") from None
    if isinstance(move, numbers.Integral) and not isinstance(move, bool) and move in (0, 1):
        return int(move)
    raise StrategyError(f"row_strategy returned {move!r} {where} (history {history}); "
                        "a move must be the integer 0 (cooperate) or 1 (defect)")


def play(strategy, key: str) -> float:
    """The row player's mean payoff per round over GAMES games of ROUNDS rounds."""
    total = 0
    for game in range(GAMES):
        random.seed(f"{key}:row:{game}")
        if numpy is not None:
            numpy.random.seed(random.getrandbits(32))
        opponent_rng = random.Random(f"{key}:column:{game}")
        history: list[tuple[int, int]] = []
        for round_ in range(ROUNDS):
            row = row_move(strategy, history, f"in game {game + 1}, round {round_ + 1}")
            column = column_move(list(history), opponent_rng)
            total += ROW_PAYOFF[row][column]
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
