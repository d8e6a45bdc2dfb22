"""The ``automl`` agent: a budget-matched hyperparameter search over a task's knobs.

Each trial is two ordinary actions, so the trajectory reads like any other and replays with the
``replay`` agent:

1. one shell command that writes the proposed values into the workspace (a ``python3 -c``
   line per knob, replacing the group of the knob's pattern) and then runs the task's training
   commands (with the ``long`` prefix when one of them has it);
2. ``validate``: the score of the trial, on whatever split the protocol validates on (``dev``
   under ``strict``, ``test`` under ``mlgym``).

Proposals come from Optuna's TPE sampler, seeded; the first trial is the starter code's own
setting, so the search can only end at or above the baseline on the split it tunes on. When
another trial would not fit the budgets left (steps, time, evaluations) the agent puts the best
trial back into the workspace (its values, and its submission files, copied aside into
``.automl/best`` when it was the best) and submits it. A task without knobs gets its training
commands run and the baseline submitted, and the discussion says so.
"""

from __future__ import annotations

import math
import shlex
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from mlgym.agents import Agent, Exhausted
from mlgym.errors import ConfigError
from mlgym_agent_automl.knobs import Knob, describe, task_knobs, write_command

BEST_DIR = ".automl/best"
"""Where the best trial's submission files wait while later trials overwrite them."""

Plan = Generator[str, dict, None]


@dataclass
class Trial:
    """One proposal and what became of it."""

    number: int
    values: dict[str, Any]
    score: float | None = None
    error: str = ""
    duration: float = 0.0  # seconds for its command and its validation
    validation: float = 0.0  # seconds for its validation alone
    optuna: Any = field(default=None, repr=False)


@dataclass
class _Search:
    """What one episode's search works with, and which trial the workspace holds."""

    task: Any
    knobs: list[Knob]
    training: list[str]
    split: str  # the split validate scores on
    study: Any  # an optuna.Study
    enqueued: bool  # the first trial is the starter's own setting
    in_workspace: Trial | None = None  # whose values and outputs the workspace holds
    saved: Trial | None = None  # whose submission files are in BEST_DIR

    @property
    def distributions(self) -> dict[str, Any]:
        return {k.name: k.distribution() for k in self.knobs}


class AutoMLAgent(Agent):
    """Tunes the knobs a task declares with Optuna's TPE sampler, then submits the best trial.

    Options (``options:`` in its config):

    ``seed`` (the episode's seed)
        the sampler's seed: equal seeds propose equal settings;
    ``startup_trials`` (5)
        random proposals before TPE models the scores (the starter's setting comes first);
    ``max_trials`` (none)
        stop after this many trials even when the budgets leave room;
    ``max_evaluations`` (none; or ``info["budgets"]["max_evaluations"]`` when the environment
        gives one)
        evaluations the episode may use, the final ``submit`` included;
    ``commands`` (none)
        the training commands when the task declares none (``training:`` in ``task.yaml``);
    ``python`` (``python3``)
        the interpreter that writes knob values in the workspace;
    ``time_margin`` (1.25)
        a trial starts only if the slowest trial so far, times this, still leaves time to submit.
    """

    id = "automl"

    def __init__(self, config: dict | None = None):
        super().__init__(config)
        options = dict(self.config.get("options") or {})
        self._seed_option = options.get("seed")
        self.seed = int(self._seed_option or 0)
        self.startup_trials = int(options.get("startup_trials", 5))
        self.max_trials = options.get("max_trials")
        self.max_evaluations = options.get("max_evaluations")
        self.python = str(options.get("python", "python3"))
        self.time_margin = float(options.get("time_margin", 1.25))
        commands = options.get("commands") or []
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            raise ConfigError(f"automl agent: options.commands must be a list of shell commands; "
                              f"got {commands!r}")
        self.fallback_commands = commands
        self.trials: list[Trial] = []
        self._plan: Plan | None = None
        self._started = False
        self._clock = time.monotonic()
        self._maximize = True

    # -- the Agent interface -----------------------------------------------------------------

    def reset(self, observation: str, info: dict) -> None:
        from mlgym.plugins import get_registry

        task = get_registry().task(info["task"])
        if self._seed_option is None:  # each episode of a benchmark searches with its own seed
            self.seed = int(info.get("seed") or 0)
        self._maximize = task.primary_metric.direction == "maximize"
        self.trials = []
        self._clock = time.monotonic()
        self._plan = self._episode(task, info)
        self._started = False

    def act(self, observation: str, info: dict) -> str:
        if self._plan is None:
            raise ConfigError("automl agent: act() before reset()")
        try:
            if not self._started:
                self._started = True
                return next(self._plan)
            return self._plan.send(info)
        except StopIteration:
            evaluation = info.get("evaluation") or {}
            raise Exhausted("the submission failed ("
                            f"{(evaluation.get('error') or 'no score').strip()[:300]}); the search "
                            "has nothing more to try") from None

    # -- the episode ---------------------------------------------------------------------------

    def _episode(self, task: Any, info: dict) -> Plan:
        knobs = task_knobs(task)
        training = self._training_commands(task, info)
        if not knobs:
            self.turn.thought = (f"Task {task.id} declares no knobs, so there is nothing to "
                                 "search: submitting the baseline"
                                 + (" after its training commands." if training else "."))
            if training:
                info = yield _chain([], training)
            yield "submit"
            return
        study = self._study(task, knobs)
        defaults = {k.name: k.current(task.starter_dir) for k in knobs} if task.starter_dir else {}
        enqueued = bool(defaults) and all(v is not None for v in defaults.values())
        if enqueued:
            study.enqueue_trial(defaults)
        split = (info.get("splits") or {}).get("validate", "test")
        intro = (f"Searching {len(knobs)} knob(s) of {task.id} ({', '.join(k.name for k in knobs)})"
                 f" with Optuna's TPE sampler (seed {self.seed}), scored by validate on the "
                 f"{split} split (protocol {info.get('protocol', 'mlgym')}). ")
        search = _Search(task, knobs, training, split, study, enqueued)
        while self._room_for_trial(info, task):
            info = yield from self._trial(search, intro if not self.trials else self._standing())
        yield from self._submit(search, info)

    def _trial(self, search: _Search, standing: str) -> Generator[str, dict, dict]:
        """One trial: its values written and trained on, then validated; returns the last info."""
        proposal = search.study.ask(search.distributions)
        trial = Trial(len(self.trials) + 1, dict(proposal.params), optuna=proposal)
        best = self.best
        self.trials.append(trial)
        command = _chain([write_command(search.knobs, trial.values, self.python)], search.training)
        save = best is not None and best is search.in_workspace and search.saved is not best
        if save:  # the workspace holds the best trial's outputs: keep them before overwriting
            command = _prefixed(_save_command(search.task.submission_files), command)
            search.saved = best
        self.turn.thought = standing + (
            f"Trial {trial.number} ({self._origin(trial, search.enqueued)}): "
            f"{describe(trial.values)}."
            + (f" First the best trial's submission files go to {BEST_DIR}." if save else ""))
        started = time.monotonic()
        info = yield command
        search.in_workspace = trial
        if info.get("exit_code") not in (0, None) or info.get("timed_out"):
            trial.error = ("timed out" if info.get("timed_out")
                           else f"exit code {info.get('exit_code')}")
        else:
            self.turn.thought = f"Validating trial {trial.number} on the {search.split} split."
            validating = time.monotonic()
            info = yield "validate"
            trial.validation = time.monotonic() - validating
            evaluation = info.get("evaluation") or {}
            value = (evaluation.get("scores") or {}).get(search.task.primary_metric.name)
            if evaluation.get("ok") and isinstance(value, (int, float)) and math.isfinite(value):
                trial.score = float(value)
            else:
                trial.error = (evaluation.get("error") or "no score").strip()[:200]
        trial.duration = time.monotonic() - started
        self._tell(search.study, trial)
        return info

    def _submit(self, search: _Search, info: dict) -> Plan:
        """Put the best trial back into the workspace unless it is there, and submit."""
        best = self.best
        steps_left = (info.get("budgets") or {}).get("steps_left")
        if best is None and not self.trials and search.training and steps_left != 1:
            self.turn.thought = ("No trial fits the budgets: running the training commands on "
                                 "the starter code as it is, then submitting it.")
            yield _chain([], search.training)
            self.turn.thought = "Submitting the starter code's setting."
        elif best is None:
            self.turn.thought = (self._standing() + "No trial scored, so the workspace is "
                                 "submitted as it is.")
        elif best is not search.in_workspace:
            assert search.saved is best  # a best trial is saved before the next overwrites it
            self.turn.thought = (self._standing() + f"Restoring trial {best.number} "
                                 f"({describe(best.values)}): its values and its submission files.")
            yield (f"{write_command(search.knobs, best.values, self.python)} && "
                   f"cp -a {BEST_DIR}/. ./")
            self.turn.thought = f"Submitting trial {best.number}."
        else:
            self.turn.thought = (self._standing() + f"The workspace holds the best trial, "
                                 f"{best.number} ({describe(best.values)}): submitting it.")
        yield "submit"

    # -- the search ------------------------------------------------------------------------------

    def _study(self, task: Any, knobs: list[Knob]) -> Any:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=self.startup_trials,
                                             multivariate=len(knobs) > 1)
        direction = task.primary_metric.direction
        return optuna.create_study(direction=direction, sampler=sampler,
                                   study_name=f"automl-{task.id}")

    def _origin(self, trial: Trial, enqueued: bool) -> str:
        if trial.number == 1 and enqueued:
            return "the starter code's setting"
        random = trial.number <= self.startup_trials + int(enqueued)
        return "random, before TPE starts" if random else "proposed by TPE"

    def _tell(self, study: Any, trial: Trial) -> None:
        from optuna.trial import TrialState

        if trial.score is None:
            study.tell(trial.optuna, state=TrialState.FAIL)
        else:
            study.tell(trial.optuna, trial.score)

    @property
    def best(self) -> Trial | None:
        """The best scored trial so far (the earliest among equals)."""
        scored = [t for t in self.trials if t.score is not None]
        if not scored:
            return None
        maximize = self._maximize
        return max(scored, key=lambda t: (t.score if maximize else -t.score, -t.number))

    def _standing(self) -> str:
        last = self.trials[-1] if self.trials else None
        if last is None:
            return ""
        outcome = (f"scored {last.score:.6g}" if last.score is not None
                   else f"failed ({last.error})")
        best = self.best
        lead = (f" Best so far: trial {best.number}, {best.score:.6g}." if best is not None
                else "")
        return f"Trial {last.number} {outcome}.{lead} "

    # -- budgets ---------------------------------------------------------------------------------

    def _room_for_trial(self, info: dict, task: Any) -> bool:
        """True when one more trial, then putting the best back and submitting, fits every
        budget: steps, time, evaluations and ``max_trials``."""
        budgets = info.get("budgets") or {}
        if self.max_trials is not None and len(self.trials) >= int(self.max_trials):
            return False
        steps_left = budgets.get("steps_left")
        # a trial's command and validation, then submit, and first a restore when this trial
        # may turn out worse than an earlier one
        if steps_left is not None and steps_left < (3 if self.best is None else 4):
            return False
        limit = self.max_evaluations or budgets.get("max_evaluations")
        if limit is not None and len(info.get("evaluations") or []) + 2 > int(limit):
            return False
        time_limit = budgets.get("time_limit")
        if time_limit is not None and self.trials:
            slowest = max(t.duration for t in self.trials)
            validation = max(t.validation for t in self.trials) or slowest
            finish = self.time_margin * validation + 2.0  # restore (a copy) and submit
            if self.elapsed + self.time_margin * slowest + finish > float(time_limit):
                return False
        return True

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._clock

    def _training_commands(self, task: Any, info: dict) -> list[str]:
        """The task's training commands (from the environment's info, else its spec), or the
        agent's ``options.commands`` when the task declares none."""
        declared = info.get("training_commands") or getattr(task, "training_commands", None)
        return list(declared or ()) or list(self.fallback_commands)


def _chain(first: list[str], training: list[str]) -> str:
    """``first`` then the training commands, joined by ``&&``; ``long`` in front when any
    training command asks for the training timeout."""
    long = any(_is_long(c) for c in training)
    parts = [*first, *(_strip_long(c) for c in training)]
    return ("long " if long else "") + " && ".join(parts)


def _prefixed(prefix: str, command: str) -> str:
    """``prefix; command``, keeping ``long`` in front."""
    if _is_long(command):
        return f"long {prefix}; {_strip_long(command)}"
    return f"{prefix}; {command}"


def _is_long(command: str) -> bool:
    return command.startswith("long") and command[4:5] in (" ", "\t")


def _strip_long(command: str) -> str:
    return command[5:].lstrip() if _is_long(command) else command


def _save_command(files: tuple[str, ...]) -> str:
    """Copy the submission files (those that exist) into BEST_DIR, with their folders."""
    quoted = " ".join(shlex.quote(f) for f in files)
    return (f"rm -rf {BEST_DIR} && mkdir -p {BEST_DIR} && "
            f"for f in {quoted}; do [ -e \"$f\" ] && cp -a --parents -- \"$f\" {BEST_DIR}/; done")
