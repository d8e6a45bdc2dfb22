"""Scoring a workspace: run the task's evaluator out of the agent's reach, check what it prints.

The evaluator runs as a fresh one-shot process through :meth:`Sandbox.run_isolated`: another
identity than the agent's, a snapshot of the submission files in place of the workspace
(:mod:`mlgym.episode.submission`), the hidden data visible only to it, with the variables of the
evaluator protocol (``docs/CONTRACTS.md``). A task with a ``player`` gets its players through a
:class:`~mlgym.player.PlayerLink` for the evaluation's length. The evaluator's last stdout line
must be a JSON object of metric values. Everything that can go wrong there (a crash, a timeout,
no JSON, a missing primary metric, a value that is not a finite number or outside the metric's
range) becomes a *failed* :class:`Evaluation` whose ``error`` says what happened; nothing here
raises for it.

What a failed evaluation tells the agent depends on the split: on ``dev`` the ends of the
evaluator's output and of the players' stderr; on ``test`` only a fixed form made of names
(:func:`failure_summary`), since anything else could carry hidden data, or, for an evaluator
without a player (it reads files only), its last stderr line. An evaluation keeps at
most :data:`OUTPUT_KEPT` characters of each output, so an episode's memory stays flat however
many evaluations it runs.

The reward of an evaluation (:func:`improvement_reward`) is documented in
``docs/environment.md``.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import json
import math
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlgym.episode.actions import SUBMIT_ACTIONS
from mlgym.episode.submission import SubmissionError, player_view, snapshot
from mlgym.player import PlayerLink, PlayerSetup
from mlgym.sandbox.base import Mount, Sandbox
from mlgym.specs.tasks import Metric, TaskSpec, describe

ACTIONS = ("validate", *SUBMIT_ACTIONS)
OUTPUT_TAIL_LINES = 25
OUTPUT_KEPT = 16 * 1024  # characters of each output an evaluation keeps (dev split only)
BASELINE_GUARD = 1e-8  # below this |baseline| the reward is not normalised
MAX_REWARD = 1e6  # the reward of one evaluation is capped here (it is always finite)
MAX_MAGNITUDE = 1e300  # a metric value beyond this cannot be scored
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,63}")
_BUILTIN_ERRORS = frozenset(name for name, value in vars(builtins).items()
                            if isinstance(value, type) and issubclass(value, BaseException))
_HOW = {"timeout": "gave no answer within its time limit",
        "exited": "ended without answering (a crash, or a memory or process limit)",
        "invalid": "answered with a value the evaluator rejects"}


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
    # the ends of the evaluator's stdout and stderr and of the players' stderr, for the
    # observation (dev split only; empty on test)
    output: str = field(default="", repr=False)
    stderr: str = field(default="", repr=False)
    player_output: str = field(default="", repr=False)

    def forget_output(self) -> None:
        """Drop the outputs once the observation is made: an episode keeps only the records."""
        self.output = self.stderr = self.player_output = ""

    def record(self) -> dict:
        """The evaluation as the result record stores it (``docs/CONTRACTS.md``)."""
        out = asdict(self)
        del out["output"], out["stderr"], out["player_output"]
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
        if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise EvaluatorOutputError(f"metric {metric.name!r} is {value}, not a finite number "
                                       "of a magnitude MLGym can score")
        if metric.out_of_range(value):
            raise EvaluatorOutputError(f"metric {metric.name!r} is {value}, outside its valid "
                                       f"range [{describe(metric.low)}, {describe(metric.high)}]")
        scores[metric.name] = float(value)
    return scores


def error_line(stderr: str, limit: int = 300) -> str:
    """The evaluator's last stderr line, cut to ``limit`` characters."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    return last if len(last) <= limit else last[:limit - 3] + "..."


def failure_summary(output: str) -> str | None:
    """The fixed form of a failed call of the agent's code, from the evaluator's last stdout
    line ``{"failed": {"call", "kind", "type"}}`` (``mlgym_referee.fail``), or ``None``.

    Only names pass: a call name, one of four kinds, and the exception's class if it is a
    builtin one; nothing the agent's code could fill with data.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    try:
        data = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    failed = data.get("failed") if isinstance(data, dict) else None
    if not isinstance(failed, dict):
        return None
    call, kind, kind_name = failed.get("call"), failed.get("kind"), failed.get("type")
    what = (f"the call `{call}` of your code" if isinstance(call, str) and _NAME.fullmatch(call)
            else "a call of your code")
    if kind == "raised":
        if isinstance(kind_name, str) and kind_name in _BUILTIN_ERRORS:
            return f"{what} raised {kind_name}"
        return f"{what} raised an exception"
    if kind in _HOW:
        return f"{what} {_HOW[kind]}"
    return None


@dataclass(frozen=True)
class EvaluatorSetup:
    """Where the evaluator's inputs are inside the sandbox, and how it is started."""

    argv: list[str]
    cwd: str
    mounts: list[Mount]
    env: dict[str, str]
    timeout: float
    submission: tuple[str, ...] = ()  # the workspace files the evaluator sees (a snapshot)
    submission_max_bytes: int = 256 * 1024 * 1024
    player: PlayerSetup | None = None


def evaluate(sandbox: Sandbox, task: TaskSpec, setup: EvaluatorSetup, *, step: int, action: str,
             split: str, seed: int, episode_start: float, workspace: Path,
             scratch: Path | None = None) -> Evaluation:
    """Run the evaluator once on a snapshot of ``workspace`` and return what happened."""
    env = {**setup.env, "MLGYM_SPLIT": split, "MLGYM_SEED": str(seed)}
    folder = Path(tempfile.mkdtemp(prefix="evaluation-", dir=scratch))
    folder.chmod(0o755)
    views: list[Path] = []
    try:
        try:
            snapshot(workspace, setup.submission, folder / "submission",
                     max_bytes=setup.submission_max_bytes)
        except SubmissionError as exc:  # about the agent's own files: safe on any split
            return Evaluation(step, action, split, False, None, str(exc),
                              time.monotonic() - episode_start)
        (folder / "submission").chmod(0o755)
        if setup.player is not None:
            # hard links must stay on the workspace's file system: next to it, out of sight
            view = Path(tempfile.mkdtemp(prefix=".player-view-", dir=workspace.parent))
            view.rmdir()
            views.append(view)
            try:
                player_view(workspace, view)
            except (SubmissionError, OSError) as exc:
                return Evaluation(step, action, split, False, None,
                                  f"the workspace cannot be shown to your code: {exc}",
                                  time.monotonic() - episode_start)
            setup = dataclasses.replace(setup, player=dataclasses.replace(setup.player,
                                                                          workspace=view))
        return _run(sandbox, task, setup, env, folder, step=step, action=action, split=split,
                    episode_start=episode_start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for view in views:
            shutil.rmtree(view, ignore_errors=True)


def _run(sandbox: Sandbox, task: TaskSpec, setup: EvaluatorSetup, env: dict[str, str],
         folder: Path, *, step: int, action: str, split: str,
         episode_start: float) -> Evaluation:
    link = PlayerLink(sandbox, setup.player, parent=folder) if setup.player else None
    mounts = list(setup.mounts)
    if link is not None:
        mounts += link.mounts()
        env.update(link.env())
    try:
        with link or contextlib.nullcontext():
            result = sandbox.run_isolated(setup.argv, cwd=setup.cwd, mounts=mounts, env=env,
                                          timeout=setup.timeout, workspace=folder / "submission")
    except Exception as exc:  # a sandbox that cannot start the evaluator fails this evaluation
        return Evaluation(step, action, split, False, None,
                          f"the evaluator could not be started: {exc}",
                          time.monotonic() - episode_start)
    elapsed = time.monotonic() - episode_start
    players = ""
    if link is not None:
        players = "\n".join(link.log.start_failures + [link.log.stderr]).strip()
    scores, error = None, None
    if result.timed_out:
        error = f"the evaluator ran past its time limit of {setup.timeout:g} s and was stopped"
    elif result.exit_code != 0:
        error = f"the evaluator failed with exit code {result.exit_code}"
        summary = failure_summary(result.output)
        if summary:
            error = f"{summary} ({error})"
        elif setup.player is None and split != "dev":
            # an evaluator that reads files only: its error line is about the agent's files
            # (which is why it must never print hidden data); a referee's could quote them
            last = error_line(result.stderr)
            if last:
                error = f"{error}: {last}"
    else:
        try:
            scores = parse_scores(result.output, task)
        except EvaluatorOutputError as exc:
            error = str(exc)
    if split != "dev":  # nothing derived from hidden inputs reaches the agent
        return Evaluation(step, action, split, scores is not None, scores, error, elapsed)
    return Evaluation(step, action, split, scores is not None, scores, error, elapsed,
                      result.output[-OUTPUT_KEPT:], result.stderr[-OUTPUT_KEPT:],
                      players[-OUTPUT_KEPT:])


def improvement_reward(metric: Metric, score: float, best: float | None,
                       baseline: float | None) -> float:
    """Reward of a successful evaluation: the normalised improvement over the best so far.

    ``r = max(0, sign * (score - best) / scale)`` with ``sign`` +1 when higher is better and -1
    otherwise, ``best`` the best primary score so far (the baseline before any evaluation, or
    this score when the task declares no baseline) and ``scale = |baseline|``, or 1 when the
    baseline is missing or smaller than ``1e-8`` in magnitude; capped at ``MAX_REWARD`` (1e6), so
    it is always finite.
    """
    if best is None:
        return 0.0
    sign = 1.0 if metric.higher_is_better else -1.0
    scale = abs(baseline) if baseline is not None and abs(baseline) >= BASELINE_GUARD else 1.0
    reward = sign * (score - best) / scale
    if not math.isfinite(reward):  # scores of magnitudes past MAX_MAGNITUDE are refused earlier
        reward = math.copysign(MAX_REWARD, reward) if not math.isnan(reward) else 0.0
    return min(MAX_REWARD, max(0.0, reward))


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
        for name, text in (("Evaluator error output", evaluation.stderr),
                           ("Evaluator output", evaluation.output),
                           ("Your code's output as a player", evaluation.player_output)):
            tail = _tail(text)
            if tail:
                lines += [f"{name} (last lines):", tail]
        if evaluation.split != "dev":
            lines.append(f"Nothing more is shown for the {evaluation.split} split, as it could "
                         "carry hidden data. Reproduce the failure on the dev split: run the "
                         "evaluator yourself with MLGYM_SPLIT=dev, or `validate` under "
                         "protocol strict.")
        if evaluation.action == "submit" and final:  # protocol strict: one look at test
            lines.append("Nothing was submitted, and the episode is over: under protocol strict "
                         "a failed submission ends it.")
        elif evaluation.action == "submit":
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
