"""An iterated two-player game as MLGym's game tasks score it, shared by their evaluators.

The agent's ``row_strategy(history)`` (``strategy.py`` in the workspace) plays the row player
against a column player for ``games`` games of ``rounds`` rounds; the score is the row player's
mean payoff per round (higher is better), printed as ``{"score": S}``, the last line of stdout.
An evaluator describes its game and hands it to :func:`main`::

    GAME = Game(read_move=..., column_move=..., row_payoff=...)   # or matrix_game(...)

    if __name__ == "__main__":
        sys.exit(main(GAME))

MLGym sets MLGYM_WORKSPACE, MLGYM_SPLIT (dev or test: each plays its own games), MLGYM_SEED and
MLGYM_HIDDEN_DIR (whose ``opponent_seed.txt`` is the secret part of the column player's seed).
Run by hand, ``python evaluate.py`` scores ./strategy.py on split dev, seed 0, with a public seed.

The score is a function of strategy, split and seed. Before each game the global ``random``
module (and numpy's, if installed; the games are the same without it) is seeded for the strategy;
the column player has its own generator, out of the strategy's reach. The strategy gets a copy of
the history, never sees MLGYM_HIDDEN_DIR, and what it prints goes to stderr. An invalid move, or
an exception in the strategy, fails the evaluation (exit code 1) with a last stderr line
``evaluation failed: ...`` naming the game and the round.

This file needs only the standard library. Its one source is ``plugins/tasks/_shared/`` in the
MLGym repository; each game task copies it into its evaluator folder when the package is built,
because an evaluator runs with nothing but its own folder.
"""

import importlib.util
import json
import numbers
import os
import random
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import numpy
except ImportError:  # optional: seeded only for strategies that can use it
    numpy = None


@dataclass(frozen=True)
class Game:
    """The rules an evaluator brings: what a move is, how the column player moves, the payoff.

    ``read_move(value)`` returns the row player's move (what ``row_payoff`` takes) or raises
    ``ValueError`` saying what a move must be; ``column_move(history, rng)`` is the column
    player's move given a copy of the history and its own ``random.Random``;
    ``row_payoff(row, column)`` is the row player's payoff for one round.
    """

    read_move: Callable[[Any], Any]
    column_move: Callable[[list, random.Random], Any]
    row_payoff: Callable[[Any, Any], float]
    games: int = 10_000
    rounds: int = 10


def matrix_game(row_payoff: tuple[tuple[int, int], tuple[int, int]],
                column_move: Callable[[list, random.Random], int], moves: str) -> Game:
    """A 2x2 game: each player plays 0 or 1 and the row player gets ``row_payoff[row][column]``.

    ``moves`` names the two moves for the message an invalid move gets, e.g. "0 or 1".
    """

    def read_move(value: Any) -> int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value in (0, 1):
            return int(value)
        raise ValueError(f"a move must be the integer {moves}")

    return Game(read_move, column_move, lambda row, column: row_payoff[row][column])


class StrategyError(Exception):
    """The agent's strategy failed; the message says where and why."""


def load_strategy(path: Path) -> Callable[[list], Any]:
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


def row_move(game: Game, strategy: Callable[[list], Any], history: list, where: str) -> Any:
    """The strategy's next move, checked."""
    try:
        value = strategy(list(history))  # a copy: the strategy cannot rewrite the record
    except (Exception, SystemExit) as exc:
        traceback.print_exc()
        raise StrategyError(f"row_strategy raised {exc!r} {where} (history {history})") from None
    try:
        return game.read_move(value)
    except ValueError as exc:
        raise StrategyError(f"row_strategy returned {value!r} {where} (history {history}); "
                            f"{exc}") from None


def play(game: Game, strategy: Callable[[list], Any], key: str) -> float:
    """The row player's mean payoff per round over the game's games and rounds."""
    total = 0
    for index in range(game.games):
        random.seed(f"{key}:row:{index}")
        numpy_seed = random.getrandbits(32)  # drawn even without numpy: the same games either way
        if numpy is not None:
            numpy.random.seed(numpy_seed)
        opponent_rng = random.Random(f"{key}:column:{index}")
        history: list[tuple[Any, Any]] = []
        for round_ in range(game.rounds):
            row = row_move(game, strategy, history, f"in game {index + 1}, round {round_ + 1}")
            column = game.column_move(list(history), opponent_rng)
            total += game.row_payoff(row, column)
            history.append((row, column))
    return total / (game.games * game.rounds)


def main(game: Game) -> int:
    """Score the workspace's strategy as the evaluator protocol asks; the exit code."""
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
        score = play(game, load_strategy(Path(workspace, "strategy.py")), key)
    except StrategyError as exc:
        print(f"evaluation failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"score": score}), file=metrics_out, flush=True)
    return 0
