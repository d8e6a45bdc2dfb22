"""An iterated two-player game as MLGym's game tasks score it: the referee's side.

The agent's ``row_strategy(history)`` (``strategy.py`` in the workspace) plays the row player
against a column player for ``games`` games of ``rounds`` rounds; the score is the row player's
mean payoff per round (higher is better), printed as ``{"score": S}``, the last line of stdout.
An evaluator describes its game and hands it to :func:`main`::

    GAME = Game(read_move=..., column_move=..., row_payoff=...)   # or matrix_game(...)

    if __name__ == "__main__":
        sys.exit(main(GAME))

The strategy never runs in this process. It runs in a player (``game_player.py``), a sandbox of
its own that MLGym starts (``mlgym_referee.py``), which only maps histories to moves; this side
holds the column player's generators, the secret seed and the payoffs, and checks every move it
gets back. All games are played side by side: each round, a few calls carry the last round of
every game and return one move per game, so ``row_strategy`` may be called for the games in any
order and must depend only on the history (and ``random``).

MLGym sets MLGYM_SPLIT (dev or test: each plays its own games), MLGYM_SEED and MLGYM_HIDDEN_DIR
(whose ``opponent_seed.txt`` is the secret part of the column player's seed). The player's
``random`` (and numpy's, when the strategy imports it) is seeded before the import of
``strategy.py`` and before every round, from a one-way hash of that key: the player never learns
the secret. The score is a function of strategy, split and seed. An invalid move, or an exception
in the strategy, fails the evaluation naming the game and the round. Run by hand,
``python evaluate.py`` scores ./strategy.py on split dev, seed 0, with a public seed and a player
that is not isolated.

This file needs only the standard library. Its one source is ``plugins/tasks/_shared/`` in the
MLGym repository; each game task copies it into its evaluator folder when the package is built,
because an evaluator runs with nothing but its own folder.
"""

import hashlib
import json
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlgym_referee as referee

HERE = Path(__file__).resolve().parent
CALL = "row_strategy"


@dataclass(frozen=True)
class Game:
    """The rules an evaluator brings: what a move is, how the column player moves, the payoff.

    ``read_move(value)`` returns the row player's move (what ``row_payoff`` takes) from the
    plain JSON value the player sent, or raises ``ValueError`` saying what a move must be;
    ``column_move(history, rng)`` is the column player's move given a copy of the history and its
    own ``random.Random``; ``row_payoff(row, column)`` is the row player's payoff for one round.
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
        if type(value) is int and value in (0, 1):
            return value
        raise ValueError(f"a move must be the integer {moves}")

    return Game(read_move, column_move, lambda row, column: row_payoff[row][column])


def derived_seed(key: str, *parts: object) -> int:
    """A seed for the player that reveals nothing of ``key`` (a 64-bit slice of a SHA-256)."""
    text = ":".join([key, *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def play(game: Game, player: referee.Player, key: str, chunks: int = 2) -> float:
    """The row player's mean payoff per round over the game's games and rounds.

    Each round the games go to the player in ``chunks`` calls, all sent before the first answer
    is read, so the column player's moves for one chunk are computed while the player works on
    the next. An element of a call is ``[game, last round]``: the player keeps the histories.
    """
    opponents = [random.Random(f"{key}:column:{index}") for index in range(game.games)]
    histories: list[list[tuple[Any, Any]]] = [[] for _ in range(game.games)]
    size = -(-game.games // chunks)
    spans = [range(start, min(start + size, game.games)) for start in range(0, game.games, size)]
    total = 0
    for round_ in range(game.rounds):
        for number, span in enumerate(spans):
            batch = [[index, histories[index][-1] if round_ else None] for index in span]
            player.send(CALL, batch, seed=derived_seed(key, "row", round_, number))
        for span in spans:
            try:
                values = player.receive()
            except referee.PlayerError as exc:
                if exc.index is not None:
                    index = span[exc.index]
                    exc.args = (f"{exc} in game {index + 1}, round {round_ + 1} "
                                f"(history {histories[index]})",)
                raise
            for index, value in zip(span, values, strict=True):
                try:
                    row = game.read_move(value)
                except ValueError as exc:
                    raise referee.PlayerError(
                        CALL, "invalid", f"row_strategy returned {referee.short(value)} in game "
                        f"{index + 1}, round {round_ + 1} (history {histories[index]}); {exc}"
                    ) from None
                history = histories[index]
                column = game.column_move(list(history), opponents[index])
                total += game.row_payoff(row, column)
                history.append((row, column))
    return total / (game.games * game.rounds)


def main(game: Game) -> int:
    """Score the workspace's strategy as the evaluator protocol asks; the exit code."""
    split, seed = os.environ.get("MLGYM_SPLIT", "dev"), os.environ.get("MLGYM_SEED", "0")
    if split not in ("dev", "test") or not seed.lstrip("-").isdigit():
        sys.exit(f"MLGYM_SPLIT={split!r}, MLGYM_SEED={seed!r}: expected dev or test and an integer")
    hidden = os.environ.get("MLGYM_HIDDEN_DIR", "")
    if not hidden:
        print("note: MLGYM_HIDDEN_DIR is unset, so the games use a public seed", file=sys.stderr)
    secret = Path(hidden, "opponent_seed.txt").read_text().strip() if hidden else "public"
    key = f"{secret}:{split}:{seed}"
    try:
        with referee.connect(local=[sys.executable, str(HERE / "game_player.py")]) as player:
            player.call("import_strategy", seed=derived_seed(key, "import"))
            score = play(game, player, key)
    except referee.PlayerError as exc:
        return referee.fail(exc)
    print(json.dumps({"score": score}), flush=True)
    return 0

