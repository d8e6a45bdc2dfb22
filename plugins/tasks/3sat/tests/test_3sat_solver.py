"""The read-only DPLL solver: correct verdicts, models, counts, replay and heuristic errors."""

from __future__ import annotations

import importlib.util
import itertools
import random
import sys
from pathlib import Path

import pytest

EVALUATOR = Path(__file__).parents[1] / "src" / "mlgym_task_3sat" / "evaluator"


def load(name: str):
    """Import one evaluator module by path under a private name (evaluators of other tasks use
    the same file names)."""
    spec = importlib.util.spec_from_file_location(f"_mlgym_3sat_{name}", EVALUATOR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


dpll = load("dpll")


def first_variable(clauses, assignment, info):
    return min(abs(lit) for clause in clauses for lit in clause), True


def brute_force_satisfiable(num_vars: int, clauses: list[tuple[int, ...]]) -> bool:
    for values in itertools.product((False, True), repeat=num_vars):
        if all(any(values[abs(lit) - 1] == (lit > 0) for lit in c) for c in clauses):
            return True
    return False


def random_formula(rng: random.Random, num_vars: int, num_clauses: int) -> list[tuple[int, ...]]:
    return [tuple(v if rng.random() < 0.5 else -v for v in rng.sample(range(1, num_vars + 1), 3))
            for _ in range(num_clauses)]


def test_verdicts_and_models_agree_with_brute_force():
    rng = random.Random(7)
    verdicts = set()
    for _ in range(60):
        clauses = random_formula(rng, 8, rng.randint(25, 45))
        result = dpll.DPLLSolver(8, clauses, first_variable).solve()
        assert result.satisfiable == brute_force_satisfiable(8, clauses)
        if result.satisfiable:
            assert dpll.is_model(clauses, result.assignment) is None
        verdicts.add(result.satisfiable)
    assert verdicts == {True, False}


def test_all_eight_sign_patterns_are_refuted_with_two_backtracks_per_failed_decision():
    clauses = [tuple(s * v for s, v in zip(signs, (1, 2, 3), strict=True))
               for signs in itertools.product((1, -1), repeat=3)]
    result = dpll.DPLLSolver(3, clauses, first_variable).solve()
    assert not result.satisfiable
    # x1 then x2 are decided on each branch; x3 is forced and conflicts
    assert result.decisions == 3 and result.backtracks == 6 and result.trace == [1, 2, 2]


def test_heuristic_sees_only_remaining_clauses_and_a_read_only_assignment():
    seen = []

    def heuristic(clauses, assignment, info):
        seen.append((list(clauses), dict(assignment), info.depth))
        with pytest.raises(TypeError):
            assignment[99] = True
        return first_variable(clauses, assignment, info)

    clauses = [(1, 2, 3), (-1, 2, -3), (1, -2, 3), (-1, -2, -3), (4, 5, 6), (-4, -5, -6)]
    result = dpll.DPLLSolver(6, clauses, heuristic).solve()
    assert result.satisfiable and dpll.is_model(clauses, result.assignment) is None
    for remaining, assignment, _ in seen:
        assert all(abs(lit) not in assignment for c in remaining for lit in c)
    assert seen[0][2] == 0


@pytest.mark.parametrize("choice, message", [
    ((0, True), "between 1 and 6"),
    (("1", True), "must be an int"),
    ((1, 1), "True or False"),
    (1, "must return (variable, value)"),
])
def test_unusable_choices_raise_a_heuristic_error(choice, message):
    clauses = [(1, 2, 3), (-1, -2, -3), (4, 5, 6), (-4, -5, -6)]
    with pytest.raises(dpll.HeuristicError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dpll.DPLLSolver(6, clauses, lambda c, a, i: choice).solve()


def test_choosing_an_assigned_variable_is_refused():
    clauses = [tuple(s * v for s, v in zip(signs, (1, 2, 3), strict=True))
               for signs in itertools.product((1, -1), repeat=3)]
    with pytest.raises(dpll.HeuristicError, match="already assigned"):
        dpll.DPLLSolver(3, clauses, lambda c, a, i: (1, True) if not a else (1, False)).solve()


def test_replaying_a_trace_reproduces_the_search_and_a_short_trace_is_refused():
    rng = random.Random(3)
    clauses = random_formula(rng, 20, 91)

    def randomised(clauses, assignment, info):
        return rng.choice(sorted({abs(lit) for c in clauses for lit in c})), rng.random() < 0.5

    original = dpll.DPLLSolver(20, clauses, randomised).solve()
    assert original.decisions > 3
    replayed = dpll.DPLLSolver(20, clauses, dpll.replay_heuristic(original.trace)).solve()
    assert (replayed.satisfiable, replayed.decisions, replayed.backtracks) == (
        original.satisfiable, original.decisions, original.backtracks)
    with pytest.raises(dpll.HeuristicError, match="only 2 decisions"):
        dpll.DPLLSolver(20, clauses, dpll.replay_heuristic(original.trace[:2])).solve()
