"""The rules of the prisoner's dilemma; what all games share: plugins/tasks/_shared/tests."""

from __future__ import annotations

from random import Random

import pytest

from mlgym.plugins import get_registry
from mlgym.testing import evaluator_module, run_evaluator

ALWAYS_DEFECT = {"strategy.py": "def row_strategy(history):\n    return 1\n"}


@pytest.fixture(scope="module")
def task():
    return get_registry(refresh=True).task("prisoners-dilemma")


def test_always_defecting_beats_the_baseline(task):
    assert run_evaluator(task, ALWAYS_DEFECT).score() > task.baseline["score"] + 0.1


def expected_score(first: float, later, payoff) -> float:
    """The mean payoff per round over 10 rounds, by hand: ``first`` is the chance that the column
    player cooperates in round 1, ``later(p)`` that chance in a later round when it was ``p`` in
    the round before, ``payoff(p)`` the row player's expected payoff at chance ``p``."""
    chances = [first]
    for _ in range(9):
        chances.append(later(chances[-1]))
    return sum(map(payoff, chances)) / 10


# The column player draws one of its 11 strategies each round (opponent.py). Against a row player
# that always defects, each cooperates with chance: round 1 -- tit-for-tat, always-cooperate,
# grim trigger, Pavlov, tit-for-two-tats and forgiving tit-for-tat 1, the two coin flips 1/2, the
# rest 0 (7/11 in all); later -- always-cooperate 1, the coin flips 1/2, Pavlov 1 - p (it
# cooperates after its own defection), noisy 1/3 + 0.4 p + 0.1, and one of tit-for-two-tats
# (round 2) and forgiving tit-for-tat (round 3 on) 1. A defector gets 5 for the column's
# cooperation and 1 for its defection.
ALWAYS_DEFECT_BY_HAND = expected_score(7 / 11, lambda p: (4 + 13 / 30 - 0.6 * p) / 11,
                                       lambda p: 1 + 4 * p)
# Against a row player that always cooperates: round 1 the same 7/11; later always-defect 0, the
# coin flips 1/2, Pavlov p (it cooperates after its own cooperation), noisy 1/3 + 0.4 p, the
# other seven 1. A cooperator gets 3 for cooperation and 0 for defection.
ALWAYS_COOPERATE_BY_HAND = expected_score(7 / 11, lambda p: (22 / 3 + 1.4 * p) / 11,
                                          lambda p: 3 * p)


@pytest.mark.parametrize("move, by_hand", [(1, ALWAYS_DEFECT_BY_HAND),
                                           (0, ALWAYS_COOPERATE_BY_HAND)])
def test_a_fixed_move_scores_its_expectation_worked_out_from_the_rules(task, move, by_hand):
    score = run_evaluator(task, {"strategy.py": f"def row_strategy(history):\n    return {move}\n"})
    # 100,000 rounds: the sampling error is about 0.007
    assert score.score() == pytest.approx(by_hand, abs=0.03)


@pytest.mark.parametrize("move, expected", [
    ("2", ["returned 2", "game 1, round 1", "0 (cooperate) or 1 (defect)"]),
    ("1.0", ["returned 1.0", "integer 0"]),
    ("None", ["returned None"]),
    ("True", ["returned True"]),
    ("[0, 1][len(history) % 2] if len(history) < 3 else '1'", ["returned '1'", "round 4",
                                                               "history [(0, "]),
])
def test_a_move_other_than_the_integer_0_or_1_fails_with_a_clear_message(task, move, expected):
    source = f"def row_strategy(history):\n    return {move}\n"
    message = run_evaluator(task, {"strategy.py": source}).failure()
    assert message.startswith("evaluation failed:")
    assert all(fragment in message for fragment in expected), message


@pytest.mark.parametrize("name, history, expected", [
    ("tit_for_tat", [], 0), ("tit_for_tat", [(1, 0)], 1), ("tit_for_tat", [(1, 0), (0, 1)], 0),
    ("suspicious_tit_for_tat", [], 1), ("suspicious_tit_for_tat", [(0, 1)], 0),
    ("grim_trigger", [(0, 0), (1, 0), (0, 1)], 1), ("grim_trigger", [(0, 0), (0, 0)], 0),
    ("pavlov", [], 0), ("pavlov", [(1, 1)], 0), ("pavlov", [(0, 1)], 1),
    ("tit_for_two_tats", [(1, 0)], 0), ("tit_for_two_tats", [(1, 0), (1, 0)], 1),
    ("forgiving_tit_for_tat", [(0, 0), (1, 0)], 1), ("forgiving_tit_for_tat", [(1, 0), (1, 1)], 0),
    ("noisy_mostly_random", [], 1), ("always_cooperate", [(1, 1)], 0), ("always_defect", [], 1),
])
def test_opponent_strategies_follow_their_rules(task, name, history, expected):
    assert getattr(evaluator_module(task, "opponent"), name)(history, Random(0)) == expected


def test_opponent_draws_among_eleven_strategies_and_is_random_where_it_should_be(task):
    opponent = evaluator_module(task, "opponent")
    assert len(opponent.STRATEGIES) == len(set(opponent.STRATEGIES)) == 11
    rng = Random(0)
    for name in ("uniform_random", "coin_flip"):
        moves = [getattr(opponent, name)([], rng) for _ in range(4000)]
        assert abs(sum(moves) / len(moves) - 0.5) < 0.05
    # after mutual cooperation only always-defect, the two coin flips and the noisy player
    # (1/6 defect + 0.1 opposite of the row's cooperation) can defect
    moves = [opponent.column_move([(0, 0)], rng) for _ in range(20000)]
    assert abs(sum(moves) / len(moves) - (1 + 0.5 + 0.5 + 1 / 6 + 0.1) / 11) < 0.01
