"""Evaluator of the 3sat task: times the DPLL solver with the agent's heuristic.

Runs under MLGym's evaluator protocol (working directory: this folder):
  MLGYM_HIDDEN_DIR  hidden data, holding the test instances
  MLGYM_SPLIT       "dev" (instances beside this file) or "test" (hidden instances)
  MLGYM_SEED        seeds Python's random module before each instance

This process is the referee: the heuristic never runs here. It runs in a player (player.py), a
process in a sandbox of its own that MLGym starts for each run (``mlgym_referee.py``), which
solves one instance per call; the instances are sent one at a time after the heuristic has been
imported, so the hidden ones never sit in the player's file system. Nothing the player says is
trusted: this process times each call itself, stops an instance that runs past the time limit,
checks every model against the original formula and every verdict against the known answer, and
replays every recorded search with its own solver, so a heuristic that changes the solver or the
clauses is caught. The search is repeated in RUNS fresh players (nothing survives from one to
the next: no file, no process, no socket); all runs must make the same decisions, and the best
total time counts.

Prints one JSON line: {"time": s, "decisions": n, "backtracks": n}. ``time`` is wall-clock
seconds from the import of heuristic.py to the last answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import mlgym_referee as referee
from dpll import DPLLSolver, HeuristicError, Result, is_model, replay_heuristic
from instances import Instance, InstanceSetError, load_instances, verified_instance_file

HERE = Path(__file__).resolve().parent
RUNS = 3
INSTANCE_TIME_LIMIT = 20.0  # seconds per instance (import of the heuristic included)
RUN_TIME_LIMIT = 300.0  # seconds for all instances of one run
LOCAL_PLAYER = [sys.executable, str(HERE / "player.py")]  # when run by hand, outside MLGym


class EvaluationFailure(Exception):
    """The heuristic cannot be scored; the message tells the agent why."""


@dataclass
class Answer:
    """What the player claimed for one instance, with the time this process measured."""

    seconds: float
    satisfiable: bool
    model: list[int]
    decisions: int
    backtracks: int
    trace: list[int]

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps([self.satisfiable, self.trace]).encode()).hexdigest()


@dataclass
class Run:
    """One pass over all instances in a fresh player."""

    seconds: float  # wall clock: import of the heuristic plus every solve
    import_seconds: float
    answers: list[Answer]


def timed_call(player: referee.Player, call: str, batch: list | None, seed: str | None,
               timeout: float) -> tuple[float, list]:
    """One call, timed here: (seconds until its answer arrived, the results)."""
    start = time.perf_counter()
    results = player.call(call, batch, seed=seed, timeout=timeout)
    return time.perf_counter() - start, results


def timed_run(instances: list[Instance], seed: int, instance_limit: float = INSTANCE_TIME_LIMIT,
              run_limit: float = RUN_TIME_LIMIT) -> Run:
    """Import the heuristic and solve every instance once in a fresh player, timing each step."""
    with referee.connect(local=LOCAL_PLAYER) as player:
        import_seconds, _ = timed_call(player, "import_heuristic", None, None, instance_limit)
        answers: list[Answer] = []
        total = import_seconds
        for instance in instances:
            try:
                seconds, results = timed_call(
                    player, "solve", [[instance.num_vars, instance.clauses]],
                    f"{seed}/{instance.name}", instance_limit)
            except referee.PlayerError as exc:
                exc.args = (f"instance {instance.name}: {exc}",)
                raise
            answers.append(_answer(seconds, results[0], f"instance {instance.name}"))
            total += seconds
            if total > run_limit:
                raise EvaluationFailure(f"the run took more than {run_limit:.0f} s in total "
                                        f"(stopped after instance {instance.name})")
        return Run(total, import_seconds, answers)


def _answer(seconds: float, payload: object, what: str) -> Answer:
    """The player's answer, checked for shape (its content is checked by :func:`verify`)."""
    if not isinstance(payload, dict):
        raise referee.PlayerError("solve", "invalid", f"{what}: the player's answer is not an "
                                  "object")
    try:
        answer = Answer(seconds, payload["sat"], payload["model"], payload["decisions"],
                        payload["backtracks"], payload["trace"])
    except KeyError as exc:
        raise referee.PlayerError("solve", "invalid", f"{what}: the player's answer lacks {exc}"
                                  ) from None
    lists = isinstance(answer.model, list) and isinstance(answer.trace, list)
    integers = (answer.decisions, answer.backtracks, *answer.model, *answer.trace) if lists else ()
    if not (lists and isinstance(answer.satisfiable, bool)
            and all(type(x) is int for x in integers)):
        raise referee.PlayerError("solve", "invalid", f"{what}: the player's answer is malformed")
    return answer


def verify(instance: Instance, answer: Answer) -> Result:
    """Check one answer against the formula and replay its search; return the replayed result."""
    claimed = "SAT" if answer.satisfiable else "UNSAT"
    truth = "SAT" if instance.satisfiable else "UNSAT"
    if answer.satisfiable != instance.satisfiable:
        raise EvaluationFailure(f"instance {instance.name}: the solver answered {claimed} but the "
                                f"instance is {truth} (did heuristic_fn modify its arguments?)")
    if answer.satisfiable:
        model = {abs(lit): lit > 0 for lit in answer.model}
        unsatisfied = is_model(instance.clauses, model)
        if unsatisfied is not None:
            raise EvaluationFailure(f"instance {instance.name}: the assignment returned leaves "
                                    f"clause {list(unsatisfied)} unsatisfied")
    try:
        replayed = DPLLSolver(instance.num_vars, instance.clauses,
                              replay_heuristic(answer.trace)).solve()
    except HeuristicError as exc:
        raise _not_reproduced(instance, answer, str(exc)) from None
    if replayed.satisfiable != answer.satisfiable or replayed.decisions != len(answer.trace):
        verdict = "SAT" if replayed.satisfiable else "UNSAT"
        raise _not_reproduced(instance, answer, f"the replay ends {verdict} after "
                                                f"{replayed.decisions} decisions")
    if (replayed.decisions, replayed.backtracks) != (answer.decisions, answer.backtracks):
        raise _not_reproduced(instance, answer, "the player reported other counts")
    return replayed


def _not_reproduced(instance: Instance, answer: Answer, problem: str) -> EvaluationFailure:
    return EvaluationFailure(
        f"instance {instance.name}: replaying the {len(answer.trace)} recorded decisions with the "
        f"evaluator's own solver does not reproduce the search ({problem}); heuristic_fn must only "
        "choose (variable, value) and leave the solver and its arguments alone")


def evaluate(instance_file: Path, seed: int, runs: int = RUNS,
             **limits: float) -> dict[str, float]:
    """Score the heuristic on one instance file; raise :class:`EvaluationFailure` or
    :class:`mlgym_referee.PlayerError` if it fails."""
    instances = load_instances(instance_file)
    runs_done: list[Run] = []
    for number in range(1, runs + 1):
        run = timed_run(instances, seed, **limits)
        print(f"run {number}: {run.seconds:.3f} s (import of heuristic.py: "
              f"{run.import_seconds:.3f} s)", file=sys.stderr)
        if not runs_done:
            replays = [verify(i, a) for i, a in zip(instances, run.answers, strict=True)]
        else:
            _check_same_search(instances, runs_done[0], run, number)
        runs_done.append(run)
    return {"time": round(min(r.seconds for r in runs_done), 4),
            "decisions": sum(r.decisions for r in replays),
            "backtracks": sum(r.backtracks for r in replays)}


def _check_same_search(instances: list[Instance], first: Run, run: Run, number: int) -> None:
    for instance, a, b in zip(instances, first.answers, run.answers, strict=True):
        if a.fingerprint() != b.fingerprint():
            raise EvaluationFailure(
                f"instance {instance.name}: run {number} made different decisions than run 1; "
                "heuristic_fn must be deterministic (use the random module, which the "
                "evaluator seeds before each instance, or a generator you seed yourself)")


def instance_folder(split: str) -> Path:
    if split == "dev":
        return HERE / "instances"
    if split == "test":
        return Path(os.environ["MLGYM_HIDDEN_DIR"])
    raise EvaluationFailure(f"unknown split {split!r}; this task has 'dev' and 'test'")


def main() -> int:
    split = os.environ.get("MLGYM_SPLIT", "test")
    seed = int(os.environ.get("MLGYM_SEED", "0"))
    try:
        instance_file = verified_instance_file(instance_folder(split), split)
        metrics = evaluate(instance_file, seed)
    except referee.PlayerError as exc:
        return referee.fail(exc)
    except EvaluationFailure as exc:  # a wrong answer or search: the player's, so its call
        return referee.fail(referee.PlayerError("solve", "invalid", str(exc)))
    except InstanceSetError as exc:
        return referee.fail(str(exc))
    print(json.dumps(metrics), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
