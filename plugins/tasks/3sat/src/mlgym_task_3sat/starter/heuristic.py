"""Branching heuristic for the DPLL solver (this is the file to improve).

The solver (dpll.py, next to the evaluator) calls ``heuristic_fn`` whenever unit propagation and
pure-literal elimination are stuck and it has to guess. It assigns the returned variable the
returned value, and if that leads to a contradiction it backtracks and tries the opposite value.

Arguments (treat them as read-only):
  clauses     list of tuples of ints: the clauses not yet satisfied, with false literals removed.
              Literal 5 means "x5 is True", -5 means "x5 is False". Every variable that occurs
              here is unassigned; no clause is empty and none has a single literal.
  assignment  read-only mapping {variable: bool} of the variables assigned so far.
  info        SearchInfo(num_vars, depth, decisions, backtracks): depth is the number of decisions
              on the current branch; decisions and backtracks count this instance's search so far.

Return (variable, value): an unassigned variable in 1..num_vars and True or False.

Score: total wall-clock time over all instances (lower is better), so a smarter choice must also
be cheap to compute. Python's random module is seeded by the evaluator before every instance;
the heuristic must make the same choices every time it is run on the same instance.

Baseline: a uniformly random variable among those in the remaining clauses, set to True.
"""

import random


def heuristic_fn(clauses, assignment, info):
    variables = sorted({abs(literal) for clause in clauses for literal in clause})
    return random.choice(variables), True
