"""The rules of Colonel Blotto; what all games share: plugins/tasks/_shared/tests."""

from __future__ import annotations

from random import Random

import pytest

from mlgym.plugins import get_registry
from mlgym.testing import evaluator_module, run_evaluator


@pytest.fixture(scope="module")
def task():
    return get_registry(refresh=True).task("blotto")


def allocating(expression: str) -> dict[str, str]:
    """A workspace whose strategy returns ``expression`` (Python source) every round."""
    return {"strategy.py": f"def row_strategy(history):\n    return {expression}\n"}


def test_massing_on_four_battlefields_beats_the_baseline(task):
    four_fields = run_evaluator(task, allocating("[30, 30, 30, 30, 0, 0]")).score()
    assert four_fields > task.baseline["score"] + 0.3


def test_sending_no_soldiers_loses_every_round(task):
    # valid (at most 120 soldiers) but wins no battlefield; the opponent always holds one
    assert run_evaluator(task, allocating("(0, 0, 0, 0, 0, 0)")).score() == -1.0


@pytest.mark.parametrize("expression, expected", [
    ("[20] * 5", ["returned [20, 20, 20, 20, 20]", "game 1, round 1", "6 battlefields, not 5"]),
    ("[21] * 6", ["uses 126 soldiers, more than the 120"]),
    ("[-10, 50, 20, 20, 20, 20]", ["negative"]),
    ("[20.0] * 6", ["whole numbers"]),
    ("[True] * 6", ["whole numbers"]),
    ("120", ["returned 120", "a list of 6 integers"]),
    ("'20,20,20,20,20,20'", ["a list of 6 integers"]),
    ("[20] * 6 if len(history) < 4 else [0] * 7", ["game 1, round 5"]),
])
def test_invalid_allocations_fail_with_a_clear_message(task, expression, expected):
    message = run_evaluator(task, allocating(expression)).failure()
    assert message.startswith("evaluation failed:")
    assert all(fragment in message for fragment in expected), message


@pytest.fixture
def evaluator(task):
    return evaluator_module(task, "evaluate")


@pytest.mark.parametrize("row, column, payoff", [
    ((30, 30, 30, 30, 0, 0), (20,) * 6, 1),          # 4 battlefields won, 2 lost
    ((10, 10, 10, 0, 0, 0), (0, 0, 0, 10, 10, 10), 0),  # 3 against 3
    ((21, 20, 20, 20, 20, 19), (20,) * 6, 0),        # 1 against 1, the rest tied
    ((20, 20, 20, 20, 20, 21), (20,) * 6, 1),        # ties count for nobody
    ((0,) * 6, (120, 0, 0, 0, 0, 0), -1),
])
def test_a_round_pays_the_player_who_wins_more_battlefields(evaluator, row, column, payoff):
    assert evaluator.row_payoff(row, column) == payoff
    assert evaluator.row_payoff(column, row) == -payoff


def test_a_valid_allocation_is_read_as_a_tuple_of_ints(evaluator):
    assert evaluator.read_allocation([20, 20, 20, 20, 20, 20]) == (20,) * 6
    with pytest.raises(ValueError, match="more than the 120"):
        evaluator.read_allocation([60, 61, 0, 0, 0, 0])
    # what the player sends is decoded JSON: only a list of plain ints is an allocation
    for move in ((20,) * 6, [20.0] * 6, [True] * 6):
        with pytest.raises(ValueError):
            evaluator.read_allocation(move)


def test_opponent_spends_exactly_120_soldiers_spread_evenly_on_average(task):
    opponent, rng = evaluator_module(task, "opponent"), Random(0)
    allocations = [opponent.column_move([], rng) for _ in range(5000)]
    assert all(len(a) == 6 and sum(a) == 120 and min(a) >= 0 for a in allocations)
    for field in range(6):
        assert abs(sum(a[field] for a in allocations) / len(allocations) - 20) < 1
