"""Your strategy for the iterated prisoner's dilemma: edit this file.

The evaluator imports this module and calls ``row_strategy(history)`` once per round. ``history``
lists the rounds played so far in this game as (your move, opponent's move) pairs; return your
next move: 0 to cooperate, 1 to defect. Keep the function's name and signature.

This baseline is a noisy reciprocator: it mostly answers the opponent's last move in kind.
"""

import random

P_DEFECT_AFTER_DEFECTION = 0.75  # after the opponent defected: defect with this probability,
P_REPEAT_AFTER_DEFECTION = 0.15  # repeat your own last move with this one, else cooperate
P_COOPERATE_AFTER_COOPERATION = 0.6  # after the opponent cooperated: cooperate,
P_REPEAT_AFTER_COOPERATION = 0.3  # repeat your own last move, else defect


def row_strategy(history):
    """Return 0 (cooperate) or 1 (defect) given the (own move, opponent move) pairs so far."""
    if not history:
        return random.randint(0, 1)  # first round: a coin flip
    own_last, opponent_last = history[-1]
    r = random.random()
    if opponent_last == 1:
        if r < P_DEFECT_AFTER_DEFECTION:
            return 1
        if r < P_DEFECT_AFTER_DEFECTION + P_REPEAT_AFTER_DEFECTION:
            return own_last
        return 0
    if r < P_COOPERATE_AFTER_COOPERATION:
        return 0
    if r < P_COOPERATE_AFTER_COOPERATION + P_REPEAT_AFTER_COOPERATION:
        return own_last
    return 1
