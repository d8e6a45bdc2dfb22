"""Trajectories: one JSON file per episode, in a versioned format (``schemas/trajectory.schema.json``).

A trajectory holds every step (action, observation, the agent's discussion and raw reply, timing,
tokens, cost), every evaluation with its split, the exit reason, the configs the episode ran with
and the versions of the core and of every installed plugin distribution. The runner writes it
after each step, so a crash or Ctrl-C still leaves the episode so far on disk (exit reason
``interrupted`` until the episode finishes).

Versions: 1 is the first format; 2 adds ``changes`` to steps, what changed in the workspace at
that step (:mod:`mlgym.episode.changes`). :func:`load` reads every version written so far.

Next to it goes the result record ``result.json`` (``schemas/result.schema.json``) that metric
plugins read; :func:`result_record` derives it from the trajectory.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlgym.episode.actions import SUBMIT_ACTIONS, classify
from mlgym.errors import ConfigError

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)  # every trajectory format written so far
RESULT_SCHEMA_VERSION = 1
FORMAT = "mlgym-trajectory"
TRAJECTORY_FILE = "trajectory.json"
RESULT_FILE = "result.json"
EVALUATION_KEYS = ("step", "action", "split", "ok", "scores", "error", "time")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def versions() -> dict:
    """Python, the core, and every installed distribution that provides MLGym plugins."""
    distributions = {}
    for ep in importlib.metadata.entry_points(group="mlgym"):
        if ep.dist is not None:
            distributions[ep.dist.name] = ep.dist.version
    try:
        core = importlib.metadata.version("mlgym-core")
    except importlib.metadata.PackageNotFoundError:
        from mlgym import __version__ as core
    return {"python": platform.python_version(), "mlgym-core": core,
            "distributions": dict(sorted(distributions.items()))}


def method_name(agent: str, model: str | None) -> str:
    """``react:openai/gpt-4o``; an agent without a model is named by its id alone."""
    return f"{agent}:{model}" if model else agent


def normalise_evaluation(data: dict) -> dict:
    """An evaluation as the result record states it (docs/CONTRACTS.md)."""
    out = {key: data.get(key) for key in EVALUATION_KEYS}
    out["ok"] = bool(out["ok"])
    out["scores"] = dict(out["scores"]) if out["scores"] else ({} if out["ok"] else None)
    return out


def submission_of(evaluations: list[dict]) -> dict | None:
    """The episode's submission: its last ``submit`` or ``auto_submit`` evaluation, or None."""
    submissions = [e for e in evaluations if e.get("action") in SUBMIT_ACTIONS]
    return submissions[-1] if submissions else None


class Trajectory:
    """The record of one episode, built up step by step and written as JSON."""

    def __init__(self, *, task: str, agent: str, model: str | None, seed: int, protocol: str,
                 backend: str, run_id: str, agent_config: dict, env_config: dict,
                 out_dir: str | Path | None = None):
        self.out_dir = Path(out_dir) if out_dir else None
        self._clock = time.monotonic()
        self.data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION, "format": FORMAT, "run_id": run_id,
            "task": task, "agent": agent, "model": model, "method": method_name(agent, model),
            "seed": seed, "protocol": protocol, "backend": backend,
            "started_at": now_iso(), "finished_at": None, "duration": 0.0,
            "config": {"agent": _without_secrets(agent_config), "environment": dict(env_config)},
            "versions": versions(), "task_prompt": "", "steps": [], "final_turn": None,
            "evaluations": [],
            "submission": None, "baseline": {}, "exit_reason": "interrupted", "error": None,
            "totals": {"steps": 0, "cost": 0.0, "tokens": {"input": 0, "output": 0},
                       "model_calls": 0, "failed_calls": 0},
        }

    @property
    def steps(self) -> list[dict]:
        return self.data["steps"]

    def elapsed(self) -> float:
        return time.monotonic() - self._clock

    def start(self, task_prompt: str, baseline: dict | None = None) -> None:
        self.data["task_prompt"] = task_prompt
        self.data["baseline"] = {k: v for k, v in (baseline or {}).items()
                                 if isinstance(v, (int, float)) or v is None}
        self.save()

    def add_step(self, step: dict) -> None:
        """Append one step (see the schema's ``step``) and update the totals."""
        step.setdefault("action_kind", classify(step["action"]))
        self.steps.append(step)
        totals = self.data["totals"]
        totals["steps"] = len(self.steps)
        totals["cost"] += step["cost"]
        totals["tokens"]["input"] += step["tokens"]["input"]
        totals["tokens"]["output"] += step["tokens"]["output"]
        for call in step.get("model_calls", []):
            totals["model_calls"] += 1
            totals["failed_calls"] += 0 if call.get("ok") else 1
        self.save()

    def add_final_turn(self, turn: dict) -> None:
        """The act() that ended the episode: its replies and model calls belong to no step."""
        self.data["final_turn"] = turn
        totals = self.data["totals"]
        for call in turn.get("model_calls", []):
            totals["model_calls"] += 1
            totals["failed_calls"] += 0 if call.get("ok") else 1
            totals["cost"] += call.get("cost", 0.0)
            totals["tokens"]["input"] += call.get("input_tokens", 0)
            totals["tokens"]["output"] += call.get("output_tokens", 0)

    def finish(self, exit_reason: str, evaluations: list[dict], error: str | None = None,
               error_kind: str | None = None) -> None:
        """Record how the episode ended. Its submission is the last ``submit`` or ``auto_submit``
        (None if there was none): a ``validate`` is never the submission. ``error_kind`` says what
        an ``error`` exit came from: ``"model"`` (the model provider kept failing) or
        ``"runtime"`` (an exception, a broken sandbox)."""
        evaluations = [normalise_evaluation(e) for e in evaluations]
        self.data.update(exit_reason=exit_reason, error=error, error_kind=error_kind,
                         evaluations=evaluations,
                         submission=submission_of(evaluations),
                         finished_at=now_iso())
        self.save()

    def save(self) -> None:
        """Write ``trajectory.json`` and ``result.json`` into the output folder (atomically)."""
        self.data["duration"] = round(self.elapsed(), 3)
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        _write_json(self.out_dir / TRAJECTORY_FILE, self.data)
        _write_json(self.out_dir / RESULT_FILE, result_record(self.data))


def result_record(trajectory: dict) -> dict:
    """The result record of an episode (docs/CONTRACTS.md), from its trajectory."""
    totals = trajectory["totals"]
    kinds = [step.get("action_kind") or classify(step["action"]) for step in trajectory["steps"]]
    return {
        "schema_version": RESULT_SCHEMA_VERSION, "task": trajectory["task"],
        "method": trajectory["method"],
        "agent": trajectory["agent"], "model": trajectory["model"], "seed": trajectory["seed"],
        "protocol": trajectory["protocol"], "backend": trajectory["backend"],
        "run_id": trajectory["run_id"], "evaluations": trajectory["evaluations"],
        "submission": trajectory.get("submission"), "exit_reason": trajectory["exit_reason"],
        "error_kind": trajectory.get("error_kind"),
        "steps": totals["steps"], "duration": trajectory["duration"],
        "cost": round(totals["cost"], 10), "tokens": dict(totals["tokens"]),
        "action_kinds": kinds, "trajectory": TRAJECTORY_FILE,
        "baseline": trajectory.get("baseline") or {},
    }


def _without_secrets(config: dict) -> dict:
    """The agent config as stored: keys are never stored, only the variable that holds them."""
    out = json.loads(json.dumps(config, default=str))
    model = out.get("model")
    if isinstance(model, dict):
        model.pop("api_key", None)
    return out


def _write_json(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    os.replace(tmp, path)


def validate(data: dict, schema: str = "trajectory", origin: str = "trajectory") -> None:
    """Raise :class:`ConfigError` listing every way ``data`` breaks its JSON Schema."""
    from mlgym.specs.config import validate_data

    problems = validate_data(data, schema, origin)
    if problems:
        raise ConfigError(f"{origin}: not a valid {schema}:\n" + "\n".join(f"  {p}" for p in problems[:20]),
                          problems)


def load(path: str | Path) -> dict:
    """Read and validate a trajectory file (or the ``trajectory.json`` inside a folder) of any
    version in ``READABLE_VERSIONS``; the data is returned as written (a version 1 step has no
    ``changes``)."""
    path = Path(path)
    if path.is_dir():
        path = path / TRAJECTORY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such trajectory file") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path}: not an MLGym trajectory (no \"format\": \"{FORMAT}\")")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ConfigError(f"{path}: trajectory schema_version {version!r} is not one this MLGym "
                          f"reads ({', '.join(map(str, READABLE_VERSIONS))}); upgrade mlgym-core")
    validate(data, "trajectory", str(path))
    return data
