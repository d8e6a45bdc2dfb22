"""Evaluator of iterated Colonel Blotto.

Plays the agent's ``row_strategy(history)`` (``strategy.py`` in the workspace) for 10,000 games of
10 rounds against the column player of ``opponent.py`` and prints ``{"score": S}`` as the last
line of stdout: the row player's mean payoff per round (higher is better). A round pays +1 to the
player who wins more of the 6 battlefields (by sending more soldiers there), -1 to the other, and
0 to both on a tie. An allocation other than 6 non-negative integers summing to at most 120
fails the evaluation.

The strategy runs in a player apart from this process; how games are played, seeded and checked
is in ``iterated_game.py``, shared by MLGym's iterated games. Run by hand, ``python evaluate.py``
scores ./strategy.py on split dev, seed 0.
"""

import sys

from iterated_game import Game, main
from opponent import column_move

FIELDS, SOLDIERS = 6, 120
Allocation = tuple[int, ...]


def allocation_problem(move) -> str | None:
    """What makes ``move`` an invalid allocation, or None if it is valid."""
    if type(move) is not list:  # what the player sent, decoded from JSON: plain values only
        return f"an allocation must be a list of {FIELDS} integers"
    if len(move) != FIELDS:
        return f"an allocation must have {FIELDS} battlefields, not {len(move)}"
    if not all(type(x) is int for x in move):  # bools are not soldiers
        return "soldiers must be whole numbers (int)"
    if min(move) < 0:
        return "no battlefield may get a negative number of soldiers"
    if sum(move) > SOLDIERS:
        return f"the allocation uses {sum(move)} soldiers, more than the {SOLDIERS} available"
    return None


def read_allocation(move) -> Allocation:
    """``move`` as an allocation; ValueError saying what is wrong with an invalid one."""
    problem = allocation_problem(move)
    if problem is not None:
        raise ValueError(problem)
    return tuple(move)


def row_payoff(row: Allocation, column: Allocation) -> int:
    """+1 if the row player wins more battlefields than the column player, -1 if fewer, else 0."""
    margin = sum((r > c) - (r < c) for r, c in zip(row, column, strict=True))
    return (margin > 0) - (margin < 0)


GAME = Game(read_move=read_allocation, column_move=column_move, row_payoff=row_payoff)

if __name__ == "__main__":
    sys.exit(main(GAME))
