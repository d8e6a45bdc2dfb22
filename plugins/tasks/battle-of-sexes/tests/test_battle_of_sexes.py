"""The rules of the battle of the sexes; what all games share: plugins/tasks/_shared/tests."""

from __future__ import annotations

from random import Random

import pytest

from mlgym.plugins import get_registry
from mlgym.testing import evaluator_module, run_evaluator

ALWAYS_0 = {"strategy.py": "def row_strategy(history):\n    return 0\n"}


@pytest.fixture(scope="module")
def task():
    return get_registry(refresh=True).task("battle-of-sexes")


def test_insisting_on_0_beats_the_baseline_and_nears_its_expectation(task):
    # the opponent opens with 1 (payoff 0), then meets at 0 in 80% of the 9 later rounds
    score = run_evaluator(task, ALWAYS_0).score()
    assert score > task.baseline["score"] + 0.3
    assert score == pytest.approx(9 * 0.8 * 2 / 10, abs=0.01)


@pytest.mark.parametrize("move, expected", [
    ("-1", ["returned -1", "game 1, round 1", "the integer 0 or 1"]),
    ("'0'", ["returned '0'"]),
    ("0.0", ["returned 0.0"]),
    ("[0]", ["returned [0]"]),
    ("False", ["returned False"]),
])
def test_a_move_other_than_the_integer_0_or_1_fails_with_a_clear_message(task, move, expected):
    source = f"def row_strategy(history):\n    return {move}\n"
    message = run_evaluator(task, {"strategy.py": source}).failure()
    assert message.startswith("evaluation failed:")
    assert all(fragment in message for fragment in expected), message


@pytest.mark.parametrize("opening", [0, 1])
def test_opponent_opens_with_1_then_follows_the_row_players_opening(task, opening):
    opponent, rng = evaluator_module(task, "opponent"), Random(0)
    assert opponent.column_move([], rng) == 1
    # later rounds depend on the row player's first move only, not on the last one
    history = [(opening, 1), (1 - opening, 0), (1 - opening, 1)]
    moves = [opponent.column_move(history, rng) for _ in range(20000)]
    assert abs(moves.count(opening) / len(moves) - 0.8) < 0.01
