"""The column player of the prisoner's dilemma: a new classic strategy drawn every round.

Each strategy sees the game so far as ``history``, a list of (row move, column move) pairs, and
draws chance from ``rng``, the column player's own generator. 0 = cooperate, 1 = defect.
"""

from __future__ import annotations

from random import Random

COOPERATE, DEFECT = 0, 1
History = list[tuple[int, int]]


def tit_for_tat(history: History, rng: Random) -> int:
    """Cooperate first, then copy the row player's last move."""
    return history[-1][0] if history else COOPERATE


def always_cooperate(history: History, rng: Random) -> int:
    return COOPERATE


def always_defect(history: History, rng: Random) -> int:
    return DEFECT


def uniform_random(history: History, rng: Random) -> int:
    """Either move with equal chance."""
    return rng.choice((COOPERATE, DEFECT))


def grim_trigger(history: History, rng: Random) -> int:
    """Cooperate until the row player defects once, then defect for ever."""
    return DEFECT if any(row == DEFECT for row, _ in history) else COOPERATE


def pavlov(history: History, rng: Random) -> int:
    """Cooperate first; then cooperate when both players made the same move last round."""
    return COOPERATE if not history or history[-1][0] == history[-1][1] else DEFECT


def tit_for_two_tats(history: History, rng: Random) -> int:
    """Defect only after the row player defected in each of the last two rounds."""
    return DEFECT if [row for row, _ in history[-2:]] == [DEFECT, DEFECT] else COOPERATE


def suspicious_tit_for_tat(history: History, rng: Random) -> int:
    """Defect first, then copy the row player's last move."""
    return history[-1][0] if history else DEFECT


def coin_flip(history: History, rng: Random) -> int:
    """Cooperate with probability 0.5."""
    return COOPERATE if rng.random() < 0.5 else DEFECT


def forgiving_tit_for_tat(history: History, rng: Random) -> int:
    """Tit-for-tat that forgives: cooperates after two defections of the row player in a row."""
    if tit_for_two_tats(history, rng) == DEFECT:
        return COOPERATE
    return tit_for_tat(history, rng)


def noisy_mostly_random(history: History, rng: Random) -> int:
    """Defect first; then cooperate (1/3), defect (1/6), repeat its own last move (0.4),
    or play the opposite of the row player's last move (0.1)."""
    if not history:
        return DEFECT
    row_last, own_last = history[-1]
    r = rng.random()
    if r < 1 / 3:
        return COOPERATE
    if r < 0.5:
        return DEFECT
    if r < 0.9:
        return own_last
    return 1 - row_last


STRATEGIES = (noisy_mostly_random, tit_for_tat, always_cooperate, always_defect, uniform_random,
              grim_trigger, pavlov, tit_for_two_tats, suspicious_tit_for_tat, coin_flip,
              forgiving_tit_for_tat)


def column_move(history: History, rng: Random) -> int:
    """This round's move: that of one of the eleven strategies, chosen uniformly at random."""
    return rng.choice(STRATEGIES)(history, rng)
