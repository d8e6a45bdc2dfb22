"""Your strategy for iterated Colonel Blotto: edit this file.

The evaluator imports this module and calls ``row_strategy(history)`` once per round. ``history``
lists the rounds played so far in this game as (your allocation, opponent's allocation) pairs;
return your next allocation: a list of 6 non-negative integers (soldiers per battlefield) summing
to at most 120. Whoever sends more soldiers to a battlefield wins it; winning more battlefields
than the opponent pays +1, fewer -1, as many 0. Keep the function's name and signature.

This baseline favours a random number of battlefields, fills the others at random and scales the
whole allocation to 120 soldiers.
"""

import random

FIELDS, SOLDIERS = 6, 120
MIN_BOOST = 10  # each favoured battlefield gets between MIN_BOOST
MAX_BOOST = 30  # and MAX_BOOST extra soldiers (a battlefield may be favoured twice)


def row_strategy(history):
    """Return a list of 6 non-negative integers summing to at most 120."""
    allocation = [0] * FIELDS
    for _ in range(random.randint(1, FIELDS)):
        allocation[random.randrange(FIELDS)] += random.randint(MIN_BOOST, MAX_BOOST)
    remaining = SOLDIERS - sum(allocation)
    if remaining > 0:  # the battlefields left empty share the rest at random
        for field in [i for i in range(FIELDS) if allocation[i] == 0]:
            allocation[field] = random.randint(0, remaining)
            remaining -= allocation[field]
    total = sum(allocation)
    allocation = [soldiers * SOLDIERS // total for soldiers in allocation]  # scale to 120
    allocation[random.randrange(FIELDS)] += SOLDIERS - sum(allocation)  # rounding leftovers
    return allocation
