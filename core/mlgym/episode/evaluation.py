"""Scoring a workspace: run the task's evaluator out of the agent's reach, check what it prints.

The evaluator runs as a fresh one-shot process through :meth:`Sandbox.run_isolated`: another
identity than the agent's, the workspace read-only, the hidden data visible only to it, with the
variables of the evaluator protocol (``docs/CONTRACTS.md``). Its last stdout line must be a JSON
object of metric values. Everything that can go wrong there (a crash, a timeout, no JSON, a
missing primary metric, a value that is not a finite number) becomes a *failed*
:class:`Evaluation` whose ``error`` says what happened; nothing here raises for it.

The reward of an evaluation (:func:`improvement_reward`) is documented in
``docs/environment.md``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from mlgym.sandbox.base import Mount, Sandbox
from mlgym.specs.tasks import Metric, TaskSpec, describe

ACTIONS = ("validate", "submit", "auto_submit")
OUTPUT_TAIL_LINES = 25
BASELINE_GUARD = 1e-8  # below this |baseline| the reward is not normalised


@dataclass
class Evaluation:
    """One run of the evaluator, as recorded in ``info`` and in the result record."""

    step: int
    action: str  # validate | submit | auto_submit
    split: str  # dev | test
    ok: bool
    scores: dict[str, float] | None
    error: str | None
    time: float  # seconds since the episode started
    output: str = field(default="", repr=False)  # evaluator stdout, for the observation
    stderr: str = field(default="", repr=False)

    def record(self) -> dict:
        """The evaluation as the result record stores it (``docs/CONTRACTS.md``)."""
        out = asdict(self)
        del out["output"], out["stderr"]
        out["time"] = round(self.time, 3)
        return out


class EvaluatorOutputError(ValueError):
    """What the evaluator printed does not fit the task's metrics (message for the agent)."""


def parse_scores(output: str, task: TaskSpec) -> dict[str, float]:
    """The metrics in the evaluator's output: the last line that is a JSON object.

    Only metrics the task declares are kept; the primary one must be there, and every value
    must be a finite number. Raises :class:`EvaluatorOutputError` saying what is wrong.
    """
    data = None
    for line in reversed(output.splitlines()):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                data = None
        break
    if not isinstance(data, dict):
        raise EvaluatorOutputError("the evaluator's last output line is not a JSON object of "
                                   "metrics")
    primary = task.primary_metric.name
    if primary not in data:
        keys = ", ".join(map(str, data)) or "none"
        raise EvaluatorOutputError(f"the evaluator's output lacks the primary metric "
                                   f"{primary!r} (it printed keys: {keys})")
    scores = {}
    for metric in task.metrics:
        if metric.name not in data:
            continue
        value = data[metric.name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EvaluatorOutputError(f"metric {metric.name!r} is {value!r}, not a number")
        if not math.isfinite(value):
            raise EvaluatorOutputError(f"metric {metric.name!r} is {value}, not a finite number")
        scores[metric.name] = float(value)
    return scores


@dataclass(frozen=True)
class EvaluatorSetup:
    """Where the evaluator's inputs are inside the sandbox, and how it is started."""

    argv: list[str]
    cwd: str
    mounts: list[Mount]
    env: dict[str, str]
    timeout: float


def evaluate(sandbox: Sandbox, task: TaskSpec, setup: EvaluatorSetup, *, step: int, action: str,
             split: str, seed: int, episode_start: float) -> Evaluation:
    """Run the evaluator once on the current workspace and return what happened."""
    env = {**setup.env, "MLGYM_SPLIT": split, "MLGYM_SEED": str(seed)}
    try:
        result = sandbox.run_isolated(setup.argv, cwd=setup.cwd, mounts=setup.mounts, env=env,
                                      timeout=setup.timeout)
    except Exception as exc:  # a sandbox that cannot start the evaluator fails this evaluation
        return Evaluation(step, action, split, False, None,
                          f"the evaluator could not be started: {exc}",
                          time.monotonic() - episode_start)
    elapsed = time.monotonic() - episode_start
    output = result.output
    if result.timed_out:
        error = f"the evaluator ran past its time limit of {setup.timeout:g} s and was stopped"
    elif result.exit_code != 0:
        error = f"the evaluator failed with exit code {result.exit_code}"
    else:
        try:
            scores = parse_scores(output, task)
        except EvaluatorOutputError as exc:
            error = str(exc)
        else:
            return Evaluation(step, action, split, True, scores, None, elapsed, output,
                              result.stderr)
    return Evaluation(step, action, split, False, None, error, elapsed, output, result.stderr)


def improvement_reward(metric: Metric, score: float, best: float | None,
                       baseline: float | None) -> float:
    """Reward of a successful evaluation: the normalised improvement over the best so far.

    ``r = max(0, sign * (score - best) / scale)`` with ``sign`` +1 when higher is better and -1
    otherwise, ``best`` the best primary score so far (the baseline before any evaluation, or
    this score when the task declares no baseline) and ``scale = |baseline|``, or 1 when the
    baseline is missing or smaller than ``1e-8`` in magnitude.
    """
    if best is None:
        return 0.0
    sign = 1.0 if metric.higher_is_better else -1.0
    scale = abs(baseline) if baseline is not None and abs(baseline) >= BASELINE_GUARD else 1.0
    return max(0.0, sign * (score - best) / scale)


def _tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    kept = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join(kept)


def describe_evaluation(evaluation: Evaluation, task: TaskSpec, best: Mapping[str, float] | None,
                        final: bool) -> str:
    """The observation text for an evaluation: scores next to baseline and best so far."""
    what = {"validate": "Validation", "submit": "Submission",
            "auto_submit": "Automatic submission (a budget ran out)"}[evaluation.action]
    if not evaluation.ok:
        lines = [f"{what} on the {evaluation.split} split FAILED: {evaluation.error}."]
        for name, text in (("error output", evaluation.stderr), ("output", evaluation.output)):
            tail = _tail(text)
            if tail:
                lines += [f"Evaluator {name} (last lines):", tail]
        if evaluation.action == "submit":
            lines.append("Nothing was submitted; fix the problem and run `submit` again.")
        return "\n".join(lines)
    lines = [f"{what} on the {evaluation.split} split succeeded."]
    rows = [("metric", "score", "baseline", "best so far")]
    for metric in task.metrics:
        score = (evaluation.scores or {}).get(metric.name)
        mark = " (primary, " if metric.primary else " ("
        arrow = "higher is better)" if metric.higher_is_better else "lower is better)"
        rows.append((metric.name + mark + arrow, describe(score),
                     describe(task.baseline.get(metric.name)),
                     describe((best or {}).get(metric.name))))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        lines.append(("  " + "  ".join(cells)).rstrip())
    if final:
        lines.append("The episode is over.")
    return "\n".join(lines)
