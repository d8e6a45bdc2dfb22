"""``MLGymEnv``: one research task as a Gymnasium environment.

An episode is a fresh sandboxed workspace holding the task's starter code. Each action is a
shell command for the agent's persistent bash, or one of the two commands the environment
handles itself: ``validate`` (score the workspace, keep going) and ``submit`` (score it as the
final answer, end the episode). Scores come from the task's evaluator, run out of the agent's
reach (:mod:`mlgym.episode.evaluation`). ``docs/environment.md`` documents observations, actions,
budgets, ``info`` keys, protocols and the reward.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import math
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

import gymnasium
from gymnasium import spaces

from mlgym.episode.actions import SUBMIT_ACTIONS, classify
from mlgym.episode.changes import ChangeRecorder
from mlgym.episode.datasets import materialise
from mlgym.episode.environments import ensure_environment
from mlgym.episode.evaluation import Evaluation, describe_evaluation, evaluate, improvement_reward
from mlgym.episode.workspace import Workspace
from mlgym.errors import ConfigError, SandboxError
from mlgym.plugins.registry import get_registry
from mlgym.sandbox import leftovers
from mlgym.sandbox.base import Limits, Sandbox
from mlgym.sandbox.plugin import default_backend
from mlgym.specs.tasks import TaskSpec

log = logging.getLogger(__name__)

EVALUATION_COMMANDS = ("validate", "submit")
EXIT_REASONS = ("submitted", "max_steps", "time_limit", "cost_limit", "format_error",
                "context_window", "interrupted", "error")  # docs/CONTRACTS.md
_LONG = re.compile(r"long[ \t]+")  # `long <command>`: the task's training timeout applies
STATE_TIMEOUT = 10.0
PROTOCOLS = ("mlgym", "strict")


@functools.cache
def text_charset() -> frozenset[str]:
    """Every printable Unicode character, plus newline and tab: the characters of the spaces."""
    chars = (chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    return frozenset(c for c in chars if c.isprintable()) | {"\n", "\t"}


def fit_text(text: str, limit: int) -> str:
    """``text`` made a member of the observation space: line ends normalised, characters outside
    the charset replaced by U+FFFD, and at most ``limit`` characters (the middle cut out)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > limit:
        cut = len(text) - limit
        for _ in range(3):  # the marker's own length depends on the number it shows
            marker = f"\n[... {cut} characters cut ...]\n"
            cut = len(text) - max(limit - len(marker), 0)
        keep = max(limit - len(marker), 0)
        head = keep * 3 // 5
        text = text[:head] + marker + text[len(text) - (keep - head):] if keep else marker[:limit]
    if not text.replace("\n", "").replace("\t", "").isprintable():
        charset = text_charset()
        text = "".join(c if c in charset else "\ufffd" for c in text)
    return text


def check_action(action: Any, max_length: int) -> str | None:
    """Why ``action`` cannot be run, as a sentence for the agent; ``None`` if it can."""
    if not isinstance(action, str):
        return (f"Invalid action: expected text (a shell command, `validate` or `submit`), got a "
                f"{type(action).__name__}.")
    if len(action) > max_length:
        return (f"Invalid action: it is {len(action)} characters long; the limit is {max_length}."
                " Write long content to a file in several steps.")
    if "\0" in action:
        return "Invalid action: it contains NUL bytes; send text only."
    try:
        action.encode("utf-8")
    except UnicodeEncodeError:
        return "Invalid action: it contains characters that are not valid Unicode text."
    if not action.strip():
        return "Invalid action: it is empty. Send a shell command, `validate` or `submit`."
    return None


class MLGymEnv(gymnasium.Env[str, str]):
    """A research task as a Gymnasium environment; see the module docstring."""

    metadata = {"render_modes": ["human", "ansi"]}
    action_space: spaces.Text
    observation_space: spaces.Text
    # episode state, set by _reset_episode_state
    _steps: int
    _cost: float
    _tokens: dict[str, int]
    _action_kinds: list[str]
    _best: Evaluation | None
    _exit_reason: str | None
    _terminated: bool
    _truncated: bool
    _over: bool
    _started: float | None
    _state: dict[str, Any]
    _step_info: dict[str, Any]
    _last_obs: str

    def __init__(self, task: str | TaskSpec, backend: str | None = None, protocol: str = "mlgym",
                 max_steps: int | None = None, time_limit: float | None = None,
                 cost_limit: float | None = None, tools: Sequence[str] = (),
                 seed: int | None = None, eval_seed: int | None = None,
                 render_mode: str | None = None,
                 observation_limit: int = 20_000, action_limit: int = 100_000,
                 network: bool = False, gpus: int | None = None, limits: Limits | None = None,
                 disk_quota: bool | None = None, service_config: dict | None = None,
                 record_changes: bool = True):
        registry = get_registry()
        self.task: TaskSpec = registry.task(task) if isinstance(task, str) else task
        self.backend = backend or default_backend()  # bwrap, else local with a warning
        self._backend_spec = registry.get("backends", self.backend)
        if protocol not in PROTOCOLS:
            raise ConfigError(f"protocol={protocol!r} is not one of {', '.join(PROTOCOLS)}")
        self.protocol = protocol
        self.splits = {a: self.task.split_for(protocol, a) for a in EVALUATION_COMMANDS}
        missing = sorted(set(self.splits.values()) - set(self.task.splits))
        if missing:
            raise ConfigError(f"task {self.task.id!r} has no {' or '.join(missing)} split, which "
                              f"protocol {protocol!r} needs; use protocol='mlgym'")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode={render_mode!r}; use one of "
                              f"{self.metadata['render_modes']} or None")
        self.render_mode = render_mode
        steps = _positive("max_steps", max_steps, self.task.max_steps)
        self.max_steps = int(steps) if steps is not None else None
        self.time_limit = _positive("time_limit", time_limit, self.task.time_limit)
        self.cost_limit = _positive("cost_limit", cost_limit, None)
        self.bundles = [registry.get("tools", t) for t in tools]
        self.services = sorted({s for b in self.bundles for s in b.services})
        for service in self.services:
            registry.get("services", service)
        self.service_config = dict(service_config or {})
        self.record_changes = bool(record_changes)  # info['changes']: mlgym.episode.changes
        self._changes: ChangeRecorder | None = None
        self.network = network
        self.gpus = self.task.compute.gpus if gpus is None else gpus
        self.limits = limits or _task_limits(self.task)
        self.disk_quota = disk_quota
        self.seed_value = self.task.seed if seed is None else int(seed)
        # the evaluation seed is the task's, whatever the episode seed, so that every episode
        # (and the baseline figure in task.yaml) is scored on the same draws
        self.eval_seed = self.task.seed if eval_seed is None else int(eval_seed)
        charset = text_charset()
        self.action_space = spaces.Text(action_limit, min_length=0, charset=charset)
        self.observation_space = spaces.Text(observation_limit, min_length=0, charset=charset)
        self.evaluations: list[Evaluation] = []
        self._prepared: tuple[dict, Any, str | None] | None = None
        self._sandbox: Sandbox | None = None
        self._workspace: Workspace | None = None
        self._service_handles: list[Any] = []
        self._reset_episode_state()

    # -- Gymnasium API ------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        """Start a new episode in a fresh workspace; return the task prompt and ``info``."""
        super().reset(seed=seed)
        if options:
            raise ConfigError(f"reset(options=...) takes no options; got {sorted(options)}")
        if seed is not None:
            self.seed_value = int(seed)
        self._teardown()
        self._reset_episode_state()
        try:
            self._start_episode()
        except BaseException:
            self._teardown()
            raise
        self._state = self._tool_state()
        prompt = self._workspace.prompt(self.splits, protocol=self.protocol,
                                        max_steps=self.max_steps,
                                        time_limit=self.time_limit, cost_limit=self.cost_limit)
        self._last_obs = fit_text(prompt, self.observation_space.max_length)
        return self._last_obs, self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        """Run one action; see ``docs/environment.md`` for what each kind of action does."""
        if self._sandbox is None:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        if self._over:
            obs = (f"The episode is over ({self._exit_reason}); call reset() to start a new one.")
            return obs, 0.0, self._terminated, self._truncated, self._info()
        self._steps += 1
        self._step_info = {"exit_code": None, "timed_out": False, "evaluation": None}
        self._action_kinds.append(classify(action) if isinstance(action, str) else "other")
        obs, reward, terminated, exit_reason = self._act(action)
        if exit_reason is None:
            exit_reason = self._budget_reason(before_action=False)
        truncated = exit_reason is not None and not terminated
        if truncated:
            evaluation, extra = self._evaluate("auto_submit")
            reward += extra
            obs += "\n\n" + describe_evaluation(evaluation, self.task, self._best_scores(),
                                                final=True)
        self._exit_reason = exit_reason
        self._terminated, self._truncated = terminated, truncated
        self._over = terminated or truncated
        self._state = self._tool_state()
        if self._changes is not None:
            self._step_info["changes"] = self._changes.collect()
        self._last_obs = fit_text(obs, self.observation_space.max_length)
        if self.render_mode == "human":
            self.render()
        return self._last_obs, float(reward), terminated, truncated, self._info()

    def render(self) -> str | None:
        """``ansi``: the last observation as text; ``human``: print it."""
        if self.render_mode == "ansi":
            return self._last_obs
        if self.render_mode == "human":
            print(self._last_obs)
        return None

    def close(self) -> None:
        """Stop the sandbox and services and delete the workspace. Safe to call twice."""
        self._teardown()

    # -- what runners and agents use ----------------------------------------------------------

    def add_cost(self, dollars: float, input_tokens: int = 0, output_tokens: int = 0) -> None:
        """Report money (and tokens) the agent spent; the cost budget is checked at each step."""
        if isinstance(dollars, bool) or not isinstance(dollars, (int, float)) \
                or not math.isfinite(dollars) or dollars < 0:
            raise ConfigError(f"add_cost(dollars={dollars!r}): give a finite amount >= 0")
        self._cost += float(dollars)
        self._tokens["input"] += int(input_tokens)
        self._tokens["output"] += int(output_tokens)

    def end_episode(self, exit_reason: str) -> tuple[str, dict]:
        """End the episode for a reason the agent or runner found (``format_error``,
        ``context_window``, ``cost_limit`` of the agent's own budget, ``interrupted``,
        ``error``...): the workspace is auto-submitted as when a budget of the environment runs
        out. Returns the observation and ``info``."""
        if exit_reason not in EXIT_REASONS[1:]:
            raise ConfigError(f"end_episode({exit_reason!r}): give one of "
                              f"{', '.join(EXIT_REASONS[1:])}")
        if self._sandbox is None:
            raise gymnasium.error.ResetNeeded("call reset() before end_episode()")
        if self._over:
            return f"The episode is over ({self._exit_reason}).", self._info()
        self._step_info = {"exit_code": None, "timed_out": False, "evaluation": None}
        evaluation, _ = self._evaluate("auto_submit")
        self._exit_reason, self._truncated, self._over = exit_reason, True, True
        obs = describe_evaluation(evaluation, self.task, self._best_scores(), final=True)
        self._last_obs = fit_text(obs, self.observation_space.max_length)
        return self._last_obs, self._info()

    @property
    def elapsed(self) -> float:
        """Seconds since the episode started (0 before the first reset)."""
        return 0.0 if self._started is None else time.monotonic() - self._started

    def result_record(self) -> dict:
        """The episode's result record (``docs/CONTRACTS.md``) without what the runner adds
        (``method``, ``agent``, ``model``, ``trajectory``). Its ``submission`` is the last
        ``submit`` or ``auto_submit``, never a ``validate``."""
        submissions = [e for e in self.evaluations if e.action in SUBMIT_ACTIONS]
        return {
            "schema_version": 1, "task": self.task.id, "seed": self.seed_value,
            "protocol": self.protocol, "backend": self.backend,
            "evaluations": [e.record() for e in self.evaluations],
            "submission": submissions[-1].record() if submissions else None,
            "exit_reason": self._exit_reason, "steps": self._steps,
            "duration": round(self.elapsed, 3), "cost": self._cost, "tokens": dict(self._tokens),
            "action_kinds": list(self._action_kinds),
        }

    # -- episode life cycle -------------------------------------------------------------------

    def _reset_episode_state(self) -> None:
        self.evaluations = []
        self._steps = 0
        self._cost = 0.0
        self._tokens = {"input": 0, "output": 0}
        self._action_kinds = []
        self._best = None
        self._exit_reason = None
        self._terminated = self._truncated = self._over = False
        self._started = None
        self._state = {}
        self._step_info = {}
        self._last_obs = ""

    def _prepare(self) -> tuple[dict, Any, str | None]:
        """Datasets, the Python environment or container image: made once per object."""
        if self._prepared is None:
            registry = get_registry()
            data = {ds: materialise(registry.get("datasets", ds)) for ds, _ in self.task.datasets}
            if self.backend == "docker":  # containers carry the task's environment in the image
                from mlgym.sandbox.images import ensure_task_image

                self._prepared = (data, None, ensure_task_image(list(self.task.requirements)))
            else:
                self._prepared = (data, ensure_environment(self.task.requirements), None)
        return self._prepared

    def _start_episode(self) -> None:
        _sweep_leftovers()
        data, python, image = self._prepare()
        self._workspace = Workspace(self.task, datasets=data, python=python,
                                    bundles=self.bundles, disk_quota=self.disk_quota)
        self._workspace.create()
        registry = get_registry()
        for service in self.services:
            spec = registry.get("services", service)
            path = self._workspace.service_socket_path(service)
            self._service_handles.append(spec.start(str(path),
                                                    dict(self.service_config.get(service, {}))))
        config = self._workspace.sandbox_config(limits=self.limits, network=self.network,
                                                gpus=self.gpus, image=image,
                                                services=self.services)
        self._sandbox = self._backend_spec.factory(config)
        self._sandbox.start()
        self._started = time.monotonic()
        if self.record_changes:
            self._changes = ChangeRecorder.for_sandbox(config)
            self._changes.start()

    def _teardown(self) -> None:
        """Close the sandbox, then the services, then delete the workspace; each step runs even
        if an earlier one failed (the first error is raised at the end)."""
        sandbox, self._sandbox = self._sandbox, None
        handles, self._service_handles = self._service_handles, []
        workspace, self._workspace = self._workspace, None
        self._changes = None
        closers = ([sandbox.close] if sandbox is not None else []) + [h.close for h in handles]
        closers += [workspace.remove] if workspace is not None else []
        errors = []
        for close in closers:
            try:
                close()
            except Exception as exc:  # keep cleaning up; report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]

    # -- actions ------------------------------------------------------------------------------

    def _act(self, action: Any) -> tuple[str, float, bool, str | None]:
        """Do what ``action`` asks: (observation, reward, terminated, exit reason or None)."""
        exit_reason = self._budget_reason(before_action=True)
        if exit_reason is not None:
            reached = exit_reason.replace("_", " ")
            return f"The action was not run: the {reached} was reached.", 0.0, False, exit_reason
        problem = check_action(action, self.action_space.max_length)
        if problem is not None:
            return problem, 0.0, False, None
        word = action.split(None, 1)[0]
        if word not in EVALUATION_COMMANDS:
            obs, exit_reason = self._run_command(action)
            return obs, 0.0, False, exit_reason
        if action.strip() != word:
            return (f"`{word}` takes no arguments and must be the whole action; it scores the "
                    "workspace as it is."), 0.0, False, None
        evaluation, reward = self._evaluate(word)
        # under `strict` a failed submission ends the episode too: one look at the test split
        submitted = word == "submit" and (evaluation.ok or self.protocol == "strict")
        obs = describe_evaluation(evaluation, self.task, self._best_scores(), final=submitted)
        return obs, reward, submitted, "submitted" if submitted else None

    def _run_command(self, action: str) -> tuple[str, str | None]:
        """Run a shell command; return the observation and an exit reason if the sandbox broke."""
        command = action.strip()
        prefix = _LONG.match(command)
        long = prefix is not None
        command = command[prefix.end():] if long else command
        timeout = self.task.training_timeout if long else self.task.command_timeout
        if self.time_limit is not None:
            timeout = max(1.0, min(timeout, self.time_limit - self.elapsed))
        if self.bundles:
            from mlgym.specs.tools import expand_multiline

            command = expand_multiline(command, self.bundles)
        try:
            result = self._sandbox.run(command, timeout)
        except SandboxError as exc:
            return f"The sandbox failed and the episode cannot go on: {exc}", "error"
        self._step_info.update(exit_code=result.exit_code, timed_out=result.timed_out)
        obs = result.output.rstrip("\n")
        notes = []
        if result.timed_out:
            hint = "" if long else (f"; prefix the command with `long ` to allow up to "
                                    f"{self.task.training_timeout:g} s")
            notes.append(f"[the command ran longer than {timeout:g} s and was stopped{hint}]")
        elif result.exit_code not in (0, None):
            notes.append(f"[exit code {result.exit_code}]")
        if result.restarted:
            notes.append("[the shell had died and was restarted: the working directory, "
                         "variables and background jobs of the old shell are gone]")
        if not obs and not notes:
            return "(no output)", None
        return "\n".join([obs] * bool(obs) + notes), None

    def _evaluate(self, action: str) -> tuple[Evaluation, float]:
        """Run the evaluator; record the evaluation; return it with its reward."""
        split = self.splits["validate" if action == "validate" else "submit"]
        evaluation = evaluate(self._sandbox, self.task, self._workspace.evaluator_setup(),
                              step=self._steps, action=action, split=split,
                              seed=self.eval_seed, episode_start=self._started,
                              workspace=self._workspace.workspace, scratch=self._workspace.root)
        if self.evaluations:  # only the latest evaluation keeps its output: memory stays flat
            self.evaluations[-1].forget_output()
        self.evaluations.append(evaluation)
        self._step_info["evaluation"] = evaluation.record()
        if not evaluation.ok:
            return evaluation, 0.0
        primary = self.task.primary_metric
        score = evaluation.scores[primary.name]
        baseline = self.task.baseline.get(primary.name)
        best = self._best.scores[primary.name] if self._best is not None else baseline
        reward = improvement_reward(primary, score, best, baseline)
        if self._best is None or primary.better(score, self._best.scores[primary.name]):
            self._best = evaluation
        return evaluation, reward

    def _best_scores(self) -> dict | None:
        return dict(self._best.scores) if self._best is not None else None

    def _budget_reason(self, before_action: bool) -> str | None:
        """The budget that has run out, if any (steps count only after an action)."""
        if self.cost_limit is not None and self._cost >= self.cost_limit:
            return "cost_limit"
        if self.time_limit is not None and self.elapsed >= self.time_limit:
            return "time_limit"
        if not before_action and self.max_steps is not None and self._steps >= self.max_steps:
            return "max_steps"
        return None

    def _tool_state(self) -> dict:
        state: dict = {}
        for bundle in self.bundles:
            if not bundle.state_command or self._sandbox is None:
                continue
            try:
                result = self._sandbox.run(bundle.state_command, STATE_TIMEOUT)
            except SandboxError:
                continue
            state.update(_last_json_object(result.output))
        return state

    def _info(self) -> dict:
        """A fresh ``info`` dict (deterministic: no wall-clock values)."""
        primary = self.task.primary_metric.name
        evaluation = self._step_info.get("evaluation")
        info = {
            "task": self.task.id, "seed": self.seed_value, "protocol": self.protocol,
            "backend": self.backend, "splits": dict(self.splits), "step": self._steps,
            "exit_code": self._step_info.get("exit_code"),
            "timed_out": self._step_info.get("timed_out", False),
            "evaluation": evaluation,
            "scores": evaluation["scores"] if evaluation and evaluation["ok"] else None,
            "best_scores": self._best_scores(),
            "best_score": self._best.scores[primary] if self._best is not None else None,
            "baseline": dict(self.task.baseline), "primary_metric": primary,
            "training_commands": list(self.task.training_commands),
            "knobs": [dict(knob) for knob in self.task.knobs],
            "exit_reason": self._exit_reason, "cost": self._cost,
            "budgets": {"max_steps": self.max_steps,
                        "steps_left": None if self.max_steps is None
                        else max(self.max_steps - self._steps, 0),
                        "time_limit": self.time_limit, "cost_limit": self.cost_limit,
                        "cost_left": None if self.cost_limit is None
                        else max(self.cost_limit - self._cost, 0.0)},
            "evaluations": [e.record() for e in self.evaluations],
            "state": self._state,
        }
        if self._changes is not None:
            info["changes"] = self._step_info.get("changes")
        return copy.deepcopy(info)


def _positive(name: str, value: float | None, default: float | None) -> float | None:
    value = default if value is None else value
    if value is not None and (isinstance(value, bool) or not value > 0):
        raise ConfigError(f"{name}={value!r}: give a positive number, or None for the default")
    return value


def _task_limits(task: TaskSpec) -> Limits:
    compute = task.compute
    return Limits(memory_mb=compute.memory_mb, cpus=compute.cpus, processes=compute.processes,
                  file_size_mb=compute.disk_mb, disk_mb=compute.disk_mb)


def _last_json_object(text: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        return value if isinstance(value, dict) else {}
    return {}


_swept = False


def _sweep_leftovers() -> None:
    """Once per process: remove the episode folders and mounts of dead MLGym processes."""
    global _swept
    if not _swept:
        _swept = True
        for folder in leftovers.sweep():
            log.info("removed %s, left by a process that ended without closing it", folder)
