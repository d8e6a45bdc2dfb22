"""The DPLL solver that the heuristic plugs into (read-only for the agent).

A formula is a list of clauses; a clause is a tuple of non-zero integers (DIMACS literals:
``3`` means x3 is true, ``-3`` means x3 is false). At every node of the search the solver

1. applies unit propagation (a clause with one literal left forces it) and pure-literal
   elimination (a literal whose negation occurs nowhere can be made true) until neither applies;
2. stops with SAT when no clause is left, or backtracks when a clause has become empty;
3. otherwise asks ``heuristic(clauses, assignment, info)`` for a decision ``(variable, value)``,
   tries that value, and on failure the opposite one.

``clauses`` handed to the heuristic are the *remaining* clauses under the current partial
assignment: satisfied clauses are gone and false literals are removed, so every literal in them
belongs to an unassigned variable. The solver records every decision in ``trace`` so that a second,
trusted solver can replay the search and confirm an UNSAT verdict (see ``evaluate.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain
from types import MappingProxyType

Clause = tuple[int, ...]


@dataclass(frozen=True)
class SearchInfo:
    """What the heuristic may know about the search besides the clauses and the assignment."""

    num_vars: int
    depth: int  # number of decisions on the current branch
    decisions: int  # decisions made so far in this solve
    backtracks: int  # failed branches so far in this solve


Heuristic = Callable[[list[Clause], "MappingProxyType[int, bool]", SearchInfo], tuple[int, bool]]


class HeuristicError(Exception):
    """The heuristic returned something the solver cannot use (the message says what)."""


@dataclass
class Result:
    """The outcome of one solve."""

    satisfiable: bool
    assignment: dict[int, bool]  # a model when satisfiable (unassigned variables are free)
    decisions: int
    backtracks: int
    trace: list[int] = field(default_factory=list)  # decisions as literals, in the order made


def simplify(clauses: Iterable[Clause], true_literals: set[int]) -> list[Clause] | None:
    """The clauses left once ``true_literals`` hold, or ``None`` if one of them becomes empty."""
    false_literals = {-lit for lit in true_literals}
    remaining = []
    for clause in clauses:
        if not true_literals.isdisjoint(clause):
            continue
        if not false_literals.isdisjoint(clause):
            clause = tuple(lit for lit in clause if lit not in false_literals)
            if not clause:
                return None
        remaining.append(clause)
    return remaining


class DPLLSolver:
    """Recursive DPLL with unit propagation and pure-literal elimination; one instance per solve."""

    def __init__(self, num_vars: int, clauses: Iterable[Iterable[int]], heuristic: Heuristic):
        self.num_vars = num_vars
        self.clauses = [tuple(c) for c in clauses]
        self.heuristic = heuristic
        self.assignment: dict[int, bool] = {}
        self.decisions = 0
        self.backtracks = 0
        self.trace: list[int] = []
        self._trail: list[int] = []  # assigned variables, in order, for undoing

    def solve(self) -> Result:
        """Run the search to the end and return the verdict with its counts and trace."""
        satisfiable = self._search(self.clauses, depth=0)
        return Result(satisfiable, dict(self.assignment) if satisfiable else {},
                      self.decisions, self.backtracks, self.trace)

    # -- search -------------------------------------------------------------------------------

    def _search(self, clauses: list[Clause], depth: int) -> bool:
        mark = len(self._trail)
        remaining = self._propagate(clauses)
        if remaining is None:
            self._undo(mark)
            return False
        if not remaining:
            return True
        literal = self._decide(remaining, depth)
        for branch in (literal, -literal):
            branch_mark = len(self._trail)
            self._assign(branch)
            reduced = simplify(remaining, {branch})
            if reduced is not None and self._search(reduced, depth + 1):
                return True
            self._undo(branch_mark)
            self.backtracks += 1
        self._undo(mark)
        return False

    def _propagate(self, clauses: list[Clause]) -> list[Clause] | None:
        """Unit propagation and pure-literal elimination to a fixpoint; ``None`` on a conflict."""
        while clauses:
            units = {clause[0] for clause in clauses if len(clause) == 1}
            if units:
                if any(-lit in units for lit in units):
                    return None
            else:
                literals = set(chain.from_iterable(clauses))
                units = {lit for lit in literals if -lit not in literals}
                if not units:
                    return clauses
            for lit in units:
                self._assign(lit)
            clauses = simplify(clauses, units)
            if clauses is None:
                return None
        return clauses

    def _decide(self, clauses: list[Clause], depth: int) -> int:
        info = SearchInfo(self.num_vars, depth, self.decisions, self.backtracks)
        choice = self.heuristic(clauses, MappingProxyType(self.assignment), info)
        literal = self._check_choice(choice)
        self.decisions += 1
        self.trace.append(literal)
        return literal

    def _check_choice(self, choice: object) -> int:
        if not (isinstance(choice, tuple | list) and len(choice) == 2):
            raise HeuristicError(f"heuristic_fn must return (variable, value), got {choice!r}")
        var, value = choice
        if isinstance(var, bool) or not isinstance(var, int) or not 1 <= var <= self.num_vars:
            raise HeuristicError(f"heuristic_fn returned variable {var!r}; it must be an int "
                                 f"between 1 and {self.num_vars}")
        if var in self.assignment:
            raise HeuristicError(f"heuristic_fn returned variable {var}, which is already "
                                 f"assigned; choose an unassigned one (e.g. from the clauses)")
        if not isinstance(value, bool):
            raise HeuristicError(f"heuristic_fn returned value {value!r} for variable {var}; "
                                 "it must be True or False")
        return var if value else -var

    def _assign(self, literal: int) -> None:
        var = abs(literal)
        self.assignment[var] = literal > 0
        self._trail.append(var)

    def _undo(self, mark: int) -> None:
        while len(self._trail) > mark:
            del self.assignment[self._trail.pop()]


def replay_heuristic(trace: list[int]) -> Heuristic:
    """A heuristic that repeats recorded decisions; it raises when the record runs out."""
    decisions = iter(trace)

    def heuristic(clauses, assignment, info):
        literal = next(decisions, None)
        if literal is None:
            raise HeuristicError(f"the recorded search has only {len(trace)} decisions but the "
                                 "solver needs more")
        return abs(literal), literal > 0

    return heuristic


def is_model(clauses: Iterable[Iterable[int]], assignment: dict[int, bool]) -> Clause | None:
    """The first clause that ``assignment`` leaves unsatisfied, or ``None`` if it is a model."""
    for clause in clauses:
        if not any(assignment.get(abs(lit)) == (lit > 0) for lit in clause):
            return tuple(clause)
    return None
