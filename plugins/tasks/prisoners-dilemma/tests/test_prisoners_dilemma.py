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
