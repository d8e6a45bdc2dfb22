"""The column player of the battle of the sexes: it follows the row player's opening move.

It plays 1, its own favourite, in the first round. Afterwards it plays the row player's
first-round move with probability 0.8 and the other move otherwise, whatever happened since.
"""

from __future__ import annotations

from random import Random

P_FOLLOW_OPENING = 0.8


def column_move(history: list[tuple[int, int]], rng: Random) -> int:
    """This round's move given the (row move, column move) pairs played so far in the game."""
    if not history:
        return 1
    row_opening = history[0][0]
    return row_opening if rng.random() < P_FOLLOW_OPENING else 1 - row_opening
