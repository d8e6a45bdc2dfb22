"""The episode loop: an environment, an agent, and a trajectory written as it goes.

::

    obs, info = env.reset(seed=seed)
    agent.reset(obs, info)
    while not (terminated or truncated):
        action = agent.act(obs, info)            # may raise AgentExit: ends the episode
        env.unwrapped.add_cost(what the agent spent)
        obs, reward, terminated, truncated, info = env.step(action)

An agent that ends the episode itself (format errors, a cost limit, a full context window) has
its workspace auto-submitted by the environment, as when a budget runs out. Ctrl-C stops the
loop, auto-submits the workspace (a second Ctrl-C skips that), closes the sandbox and leaves the
trajectory with exit reason ``interrupted``. Everything else that goes wrong is recorded as exit
reason ``error`` with its traceback, after the same auto-submission where the environment can
still make it. Only a ``submit`` or an ``auto_submit`` is ever the episode's submission.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import threading
import traceback
from typing import Any

from mlgym.agents.base import Agent, AgentExit, ModelError, Turn, Usage
from mlgym.agents.trajectory import Trajectory


def run_episode(env: Any, agent: Agent, trajectory: Trajectory, *, seed: int | None = None,
                progress: ProgressView | None = None) -> dict:
    """Run one episode to its end; return the trajectory (also written to its folder).

    The environment and the agent are closed at the end, whatever happens.
    """
    progress = progress or ProgressView(quiet=True)
    loop = _Loop(env, agent, trajectory, progress)
    try:
        loop.run(seed)
    except KeyboardInterrupt:
        loop.exit_reason = "interrupted"
        progress.note("interrupted: auto-submitting the workspace (Ctrl-C again to skip), then "
                      "closing the sandbox and saving the trajectory")
        loop.auto_submit()
    except Exception:
        loop.exit_reason, loop.error = "error", traceback.format_exc()
        loop.error_kind = "runtime"
        loop.auto_submit()
    finally:
        with _interrupts_deferred():
            loop.finish()
    return trajectory.data


class _Loop:
    def __init__(self, env: Any, agent: Agent, trajectory: Trajectory, progress: ProgressView):
        self.env, self.agent, self.trajectory, self.progress = env, agent, trajectory, progress
        self.info: dict = {}
        self.exit_reason: str | None = None
        self.error: str | None = None
        self.error_kind: str | None = None  # "model" (the provider failed) or "runtime"
        self.charged = Usage()
        self.started = False  # the environment was reset: there is a workspace to submit

    @property
    def base(self) -> Any:
        return self.env.unwrapped

    def run(self, seed: int | None) -> None:
        observation, info = self.env.reset(seed=seed)
        self.info = self._with_limits(info)
        self.started = True
        task = self.base.task
        self.trajectory.start(observation, dict(task.baseline))
        self.progress.start(self.trajectory.data, self.info.get("max_steps"))
        self.agent.reset(observation, self.info)
        model = getattr(self.agent, "model", None)
        if getattr(model, "price_known", True) is False:
            self.progress.note(f"warning: no price is known for {model.name}: its calls are "
                               "recorded at $0 and cost limits cannot stop it; set model.price "
                               "(dollars per million tokens) in the agent config")
        while True:
            started = self.trajectory.elapsed()
            self.agent.turn = Turn()  # the agent fills it in during act()
            try:
                action = self.agent.act(observation, self.info)
            except AgentExit as exc:
                self._charge()
                turn = self.agent.turn
                self.trajectory.add_final_turn({
                    "thought": turn.thought, "raw_reply": turn.raw_reply,
                    "model_calls": list(turn.model_calls),
                    "format_errors": list(turn.format_errors)})
                self.progress.note(f"the agent stopped: {exc}")
                self.exit_reason = exc.exit_reason
                self.error = str(exc) if exc.exit_reason == "error" else None
                if exc.exit_reason == "error":
                    self.error_kind = "model" if isinstance(exc, ModelError) else "runtime"
                self._end_early(exc.exit_reason)
                return
            agent_time = self.trajectory.elapsed() - started
            spent = self._charge()
            observation, reward, terminated, truncated, info = self.env.step(action)
            self.info = self._with_limits(info)
            self._record(action, observation, reward, terminated, truncated, spent,
                         started, agent_time)
            if terminated or truncated:
                self.exit_reason = info.get("exit_reason") or (
                    "submitted" if terminated else "max_steps")
                self.error_kind = "runtime" if self.exit_reason == "error" else None
                return

    def _end_early(self, exit_reason: str) -> None:
        """The agent ended the episode: the environment auto-submits the workspace."""
        end = getattr(self.base, "end_episode", None)
        if end is None:
            self.progress.note("this environment cannot end an episode early; the workspace "
                               "is not auto-submitted")
            return
        _, info = end(exit_reason)
        self.info = self._with_limits(info)

    def auto_submit(self) -> None:
        """After Ctrl-C or an exception: auto-submit the workspace if the environment still can
        (it was reset, the episode is not over, it has ``end_episode``)."""
        if not self.started or self.exit_reason is None:
            return
        try:
            self._end_early(self.exit_reason)
        except KeyboardInterrupt:
            self.progress.note("interrupted again: the workspace is not auto-submitted")
        except Exception as exc:
            self.progress.note(f"the workspace could not be auto-submitted: {exc}")

    def _charge(self) -> Usage:
        """Report the agent's new spending to the environment; return it."""
        usage = self.agent.usage
        spent, self.charged = usage.minus(self.charged), usage
        if spent.cost or spent.input_tokens or spent.output_tokens:
            self.base.add_cost(spent.cost, input_tokens=spent.input_tokens,
                               output_tokens=spent.output_tokens)
        return spent

    def _record(self, action: str, observation: str, reward: float, terminated: bool,
                truncated: bool, spent: Usage, started: float, agent_time: float) -> None:
        turn = self.agent.turn
        env_time = self.trajectory.elapsed() - started - agent_time
        new = [e for e in self.info.get("evaluations") or [] if e.get("step") == self.info.get("step")]
        step = {
            "step": int(self.info.get("step") or len(self.trajectory.steps) + 1),
            "action": action, "observation": observation, "reward": float(reward),
            "thought": turn.thought, "raw_reply": turn.raw_reply,
            "started_at": round(started, 3), "agent_time": round(agent_time, 3),
            "env_time": round(max(0.0, env_time), 3),
            "tokens": {"input": spent.input_tokens, "output": spent.output_tokens},
            "cost": spent.cost, "model_calls": list(turn.model_calls),
            "format_errors": list(turn.format_errors),
            "terminated": bool(terminated), "truncated": bool(truncated),
            "scores": dict(new[-1]["scores"]) if new and new[-1].get("scores") else None,
            "state": self.info.get("state") or None,
        }
        if "changes" in self.info:  # the environment records workspace changes
            step["changes"] = self.info["changes"]
        self.trajectory.add_step(step)
        self.progress.step(step, self.info, self.base.task)

    def _with_limits(self, info: dict) -> dict:
        info = dict(info or {})
        info.setdefault("max_steps", getattr(self.base, "max_steps", None))
        return info

    def finish(self) -> None:
        exit_reason = self.exit_reason or "interrupted"
        evaluations = self.info.get("evaluations")
        if evaluations is None:
            evaluations = getattr(self.base, "evaluations", [])
        evaluations = [e if isinstance(e, dict) else vars(e) for e in evaluations or []]
        try:
            self.trajectory.finish(exit_reason, evaluations, self.error, self.error_kind)
        finally:
            for close in (self.env.close, self.agent.close):
                try:
                    close()
                except Exception:
                    self.progress.note(f"while closing: {traceback.format_exc(limit=3)}")
        self.progress.finish(self.trajectory.data, self.base.task)


@contextlib.contextmanager
def _interrupts_deferred():
    """Let cleanup finish: a Ctrl-C now is remembered and raised afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda *_: received.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


# -- what the user sees ---------------------------------------------------------------------------


def best_score(evaluations: list[dict], task: Any) -> float | None:
    """The best primary-metric value over the successful evaluations so far."""
    metric = task.primary_metric
    best = None
    for evaluation in evaluations or []:
        value = (evaluation.get("scores") or {}).get(metric.name) if evaluation.get("ok") else None
        if isinstance(value, (int, float)) and (best is None or metric.better(value, best)):
            best = value
    return best


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


class ProgressView:
    """Live progress of an episode: one line per step, or one line kept up to date on a tty."""

    def __init__(self, stream: Any = None, live: bool | None = None, quiet: bool = False):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.quiet = quiet
        self.max_steps: int | None = None
        self._open_line = False

    def _print(self, text: str) -> None:
        if self.quiet:
            return
        if self._open_line:
            self.stream.write("\r\x1b[K")
            self._open_line = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, trajectory: dict, max_steps: int | None) -> None:
        self.max_steps = max_steps
        self._print(f"episode: task {trajectory['task']}, {trajectory['method']}, seed "
                    f"{trajectory['seed']}, backend {trajectory['backend']}, protocol "
                    f"{trajectory['protocol']}, at most {max_steps or '?'} steps")

    def step(self, step: dict, info: dict, task: Any) -> None:
        if self.quiet:
            return
        total = info.get("cost", step.get("cost"))
        best = best_score(info.get("evaluations") or [], task)
        baseline = task.baseline.get(task.primary_metric.name)
        action = " ".join(step["action"].split())
        line = (f"step {step['step']}/{self.max_steps or '?'}  ${total or 0:.4f}  best "
                f"{task.primary_metric.name} {_number(best)} (baseline {_number(baseline)})  "
                f"> {action}")
        if step.get("scores") is not None:
            kind = "auto-submit" if step["truncated"] else step["action"].split()[0]
            self._print(f"step {step['step']}: {kind} -> "
                        + ", ".join(f"{k} {_number(v)}" for k, v in step["scores"].items()))
        if self.live:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            self.stream.write("\r\x1b[K" + line[:width])
            self.stream.flush()
            self._open_line = True
        else:
            self._print(line[:200])

    def note(self, text: str) -> None:
        self._print(text)

    def finish(self, trajectory: dict, task: Any) -> None:
        self._print(summary(trajectory, task))


def summary(trajectory: dict, task: Any | None = None) -> str:
    """The end-of-episode summary: exit reason, scores against the baseline, cost and time."""
    totals = trajectory["totals"]
    lines = [f"exit reason: {trajectory['exit_reason']}"
             + (f" ({trajectory['error'].strip().splitlines()[-1]})" if trajectory.get("error") else "")]
    baseline = trajectory.get("baseline") or {}
    submission = trajectory.get("submission")
    names = list(baseline) or list((submission or {}).get("scores") or {})
    evaluations = trajectory.get("evaluations") or []
    for name in names:
        values = [e["scores"][name] for e in evaluations if e.get("ok") and name in (e.get("scores") or {})]
        final = ((submission or {}).get("scores") or {}).get(name) if submission and submission["ok"] else None
        best = None
        if task is not None and values:
            metric = task.metric(name)
            best = values[0]
            for value in values[1:]:
                best = value if metric.better(value, best) else best
        lines.append(f"{name}: submission {_number(final)}"
                     + (f", best {_number(best)}" if task is not None else "")
                     + f", baseline {_number(baseline.get(name))}")
    if submission and not submission["ok"]:
        lines.append(f"submission failed: {(submission.get('error') or '').strip()[:300]}")
    lines.append(f"steps: {totals['steps']}, cost: ${totals['cost']:.4f}, tokens: "
                 f"{totals['tokens']['input']} in / {totals['tokens']['output']} out, "
                 f"model calls: {totals['model_calls']} ({totals['failed_calls']} failed), "
                 f"time: {trajectory['duration']:.1f} s")
    return "\n".join(lines)
