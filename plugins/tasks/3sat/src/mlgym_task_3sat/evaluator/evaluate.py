"""Evaluator of the 3sat task: times the DPLL solver with the agent's heuristic.

Runs under MLGym's evaluator protocol (working directory: this folder):
  MLGYM_WORKSPACE   the agent's workspace, holding heuristic.py
  MLGYM_HIDDEN_DIR  hidden data, holding the test instances
  MLGYM_SPLIT       "dev" (instances beside this file) or "test" (hidden instances)
  MLGYM_SEED        seeds Python's random module before each instance

The heuristic runs in a separate worker process (worker.py) that solves one instance per request.
This process trusts nothing the worker says: it times each request itself, stops an instance that
runs past the time limit, checks every model against the original formula and every verdict against
the known answer, and replays every recorded search with its own solver, so a heuristic that
changes the solver or the clauses is caught. The search is repeated in RUNS fresh worker processes;
all runs must make the same decisions, and the best total time counts.

Prints one JSON line: {"time": s, "decisions": n, "backtracks": n, "cpu_time": s}. ``time`` is
wall-clock seconds from the import of heuristic.py to the last answer; ``cpu_time`` is the CPU
time of the worker over the same span (Linux only), which other load on the machine disturbs less.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dpll import DPLLSolver, HeuristicError, Result, is_model, replay_heuristic
from instances import Instance, InstanceSetError, load_instances, verified_instance_file

HERE = Path(__file__).resolve().parent
RUNS = 3
INSTANCE_TIME_LIMIT = 20.0  # seconds per instance (import of the heuristic included)
RUN_TIME_LIMIT = 300.0  # seconds for all instances of one run
STARTUP_TIME_LIMIT = 60.0  # seconds for a worker to start and load the instances


class EvaluationFailure(Exception):
    """The heuristic cannot be scored; the message tells the agent why."""


@dataclass
class Answer:
    """What the worker claimed for one instance, with the time this process measured."""

    seconds: float
    satisfiable: bool
    model: list[int]
    decisions: int
    backtracks: int
    trace: list[int]

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps([self.satisfiable, self.trace]).encode()).hexdigest()


class Worker:
    """One worker process; ``request`` sends a command and waits for its answer line."""

    def __init__(self, instance_file: Path, heuristic: Path, workspace: Path, seed: int):
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), str(instance_file), str(heuristic),
             str(workspace), str(seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=HERE, env=env, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr_tail = ""
        threading.Thread(target=self._read_answers, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_answers(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr_tail = (self.stderr_tail + line)[-2000:]

    def receive(self, timeout: float, what: str) -> dict:
        """The next answer; a timeout, an exit or an error answer raise EvaluationFailure."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise EvaluationFailure(f"{what}: no answer within {timeout:.0f} s; heuristic_fn is "
                                    "too slow or never returns") from None
        if line is None:
            self.process.wait()
            raise EvaluationFailure(f"{what}: the worker process exited with code "
                                    f"{self.process.returncode}. {self.stderr_tail}".rstrip())
        try:
            payload = json.loads(line)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            self.close()
            raise EvaluationFailure(f"{what}: the worker sent an unreadable answer: {line[:200]!r}")
        if "error" in payload:
            self.close()
            raise EvaluationFailure(f"{what}: {payload['error']}")
        return payload

    def request(self, command: str, timeout: float, what: str) -> tuple[float, dict]:
        """Send ``command``; return (seconds until its answer arrived, the answer)."""
        start = time.perf_counter()
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        payload = self.receive(timeout, what)
        return time.perf_counter() - start, payload

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the worker has used so far, read from /proc."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return math.nan  # not Linux: the cpu_time metric is left out
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@dataclass
class Run:
    """One pass over all instances in a fresh worker."""

    seconds: float  # wall clock: import of the heuristic plus every solve
    cpu_seconds: float  # CPU time of the worker over the same span
    import_seconds: float
    answers: list[Answer]


def timed_run(instance_file: Path, instances: list[Instance], heuristic: Path, workspace: Path,
              seed: int, instance_limit: float = INSTANCE_TIME_LIMIT,
              run_limit: float = RUN_TIME_LIMIT) -> Run:
    """Import the heuristic and solve every instance once in a fresh worker, timing each step."""
    worker = Worker(instance_file, heuristic, workspace, seed)
    try:
        worker.receive(STARTUP_TIME_LIMIT, "starting the worker")
        cpu_start = worker.cpu_seconds()
        import_seconds, _ = worker.request("import", instance_limit, f"importing {heuristic.name}")
        answers: list[Answer] = []
        total = import_seconds
        for index, instance in enumerate(instances):
            what = f"instance {instance.name}"
            seconds, payload = worker.request(f"solve {index}", instance_limit, what)
            answers.append(_answer(seconds, payload, what))
            total += seconds
            if total > run_limit:
                raise EvaluationFailure(f"the run took more than {run_limit:.0f} s in total "
                                        f"(stopped after instance {instance.name})")
        return Run(total, worker.cpu_seconds() - cpu_start, import_seconds, answers)
    finally:
        worker.close()


def _answer(seconds: float, payload: dict, what: str) -> Answer:
    """The worker's answer, checked for shape (its content is checked by :func:`verify`)."""
    try:
        answer = Answer(seconds, payload["sat"], payload["model"], payload["decisions"],
                        payload["backtracks"], payload["trace"])
    except KeyError as exc:
        raise EvaluationFailure(f"{what}: the worker's answer lacks {exc}") from None
    lists = isinstance(answer.model, list) and isinstance(answer.trace, list)
    integers = (answer.decisions, answer.backtracks, *answer.model, *answer.trace) if lists else ()
    if not (lists and isinstance(answer.satisfiable, bool)
            and all(type(x) is int for x in integers)):
        raise EvaluationFailure(f"{what}: the worker's answer is malformed")
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
        raise _not_reproduced(instance, answer, "the worker reported other counts")
    return replayed


def _not_reproduced(instance: Instance, answer: Answer, problem: str) -> EvaluationFailure:
    return EvaluationFailure(
        f"instance {instance.name}: replaying the {len(answer.trace)} recorded decisions with the "
        f"evaluator's own solver does not reproduce the search ({problem}); heuristic_fn must only "
        "choose (variable, value) and leave the solver and its arguments alone")


def evaluate(instance_file: Path, heuristic: Path, workspace: Path, seed: int,
             runs: int = RUNS, **limits: float) -> dict[str, float]:
    """Score the heuristic on one instance file; raise :class:`EvaluationFailure` if it fails."""
    if not heuristic.is_file():
        raise EvaluationFailure(f"{heuristic.name} not found in the workspace")
    instances = load_instances(instance_file)
    runs_done: list[Run] = []
    for number in range(1, runs + 1):
        run = timed_run(instance_file, instances, heuristic, workspace, seed, **limits)
        print(f"run {number}: {run.seconds:.3f} s, CPU {run.cpu_seconds:.2f} s "
              f"(import of {heuristic.name}: {run.import_seconds:.3f} s)")
        if not runs_done:
            replays = [verify(i, a) for i, a in zip(instances, run.answers, strict=True)]
        else:
            _check_same_search(instances, runs_done[0], run, number)
        runs_done.append(run)
    metrics = {"time": round(min(r.seconds for r in runs_done), 4),
               "decisions": sum(r.decisions for r in replays),
               "backtracks": sum(r.backtracks for r in replays)}
    cpu = min(r.cpu_seconds for r in runs_done)
    if math.isfinite(cpu):
        metrics["cpu_time"] = round(cpu, 2)
    return metrics


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


def _shield_from_worker() -> None:
    """Make this process non-dumpable, so that a worker running as the same user can neither
    trace it nor open its /proc files (its stdout, its memory). Linux only; best effort."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def main() -> int:
    _shield_from_worker()
    workspace = Path(os.environ["MLGYM_WORKSPACE"])
    split = os.environ.get("MLGYM_SPLIT", "test")
    seed = int(os.environ.get("MLGYM_SEED", "0"))
    try:
        instance_file = verified_instance_file(instance_folder(split), split)
        metrics = evaluate(instance_file, workspace / "heuristic.py", workspace, seed)
    except (EvaluationFailure, InstanceSetError) as exc:
        print(f"evaluation failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
