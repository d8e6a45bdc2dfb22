"""The column player of Colonel Blotto: a fresh random allocation every round.

It draws a uniform integer from 0 to 120 for each of the 6 battlefields, scales the draws down to
120 soldiers in total (rounding down) and gives the soldiers lost to rounding to one battlefield
chosen at random. It ignores the history.
"""

from __future__ import annotations

from random import Random

FIELDS, SOLDIERS = 6, 120


def column_move(history: list, rng: Random) -> tuple[int, ...]:
    """This round's allocation: FIELDS non-negative integers summing to SOLDIERS."""
    draws = [rng.randint(0, SOLDIERS) for _ in range(FIELDS)]
    while sum(draws) == 0:  # all zero: nothing to scale (about once in 10^12 rounds)
        draws = [rng.randint(0, SOLDIERS) for _ in range(FIELDS)]
    allocation = [draw * SOLDIERS // sum(draws) for draw in draws]
    allocation[rng.randrange(FIELDS)] += SOLDIERS - sum(allocation)
    return tuple(allocation)
