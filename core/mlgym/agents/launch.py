"""One episode from a plain description: what ``mlgym run`` does, and what each episode of a
benchmark run does in its worker.

An :class:`EpisodeSpec` says which task, which agent config (already merged, see
:func:`~mlgym.agents.base.agent_config`), which seed, protocol and backend, and where the
trajectory goes; it is plain data, so it travels as JSON to a worker process or a Ray task.
:func:`run_episode_from_spec` builds the environment and the agent (starting the embedded model
when the config names none), runs the episode and returns its trajectory.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mlgym.errors import ConfigError


@dataclass(frozen=True)
class EpisodeSpec:
    """Everything an episode is made from; JSON-able (:meth:`to_dict`, :meth:`from_dict`)."""

    task: str
    config: dict = field(default_factory=lambda: {"agent": "react"})
    seed: int = 0
    protocol: str = "mlgym"
    backend: str | None = None
    time_limit: float | None = None  # wall-clock seconds (default: the task's)
    out_dir: str | None = None  # default: <results dir>/<run id>/<task>__<method>__seed<k>
    run_id: str | None = None  # default: a new one
    method: str | None = None  # the method's name in results (default: agent:model)
    record_changes: bool = True  # workspace diffs per step in the trajectory

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EpisodeSpec:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Launched:
    """What :func:`run_episode_from_spec` gives back: the trajectory and where it was written."""

    trajectory: dict
    out_dir: Path


def run_episode_from_spec(spec: EpisodeSpec, progress: Any = None) -> Launched:
    """Run the episode ``spec`` describes to its end (see :func:`~mlgym.agents.runner.run_episode`).

    ``progress`` is a :class:`~mlgym.agents.runner.ProgressView` (default: quiet).
    """
    from mlgym.agents.base import create_agent
    from mlgym.agents.runner import ProgressView, run_episode
    from mlgym.agents.trajectory import Trajectory
    from mlgym.plugins.registry import get_registry

    task = get_registry().task(spec.task)
    progress = progress or ProgressView(quiet=True)
    config = dict(spec.config)
    server = None
    if uses_embedded_model(config):
        from mlgym.agents.embedded import EmbeddedServer

        server = EmbeddedServer()
        progress.note("no model named: starting the embedded SmolLM2-135M-Instruct (a tiny model "
                      "for trying MLGym offline; name a real one with --model)")
    try:
        if server is not None:
            server.start()
            config["model"] = {**config["model"], **server.model_config()}
            progress.note(f"embedded model at {server.api_base} (log: {server.log_path})")
        agent = create_agent(config)
        run_id = spec.run_id or new_run_id()
        method = spec.method or _method(config["agent"], agent.model_name)
        out = Path(spec.out_dir) if spec.out_dir else default_out(run_id, task.id, method, spec.seed)
        env_config = {"backend": spec.backend, "protocol": spec.protocol,
                      "max_steps": config.get("max_steps") or task.max_steps,
                      "time_limit": spec.time_limit or task.time_limit,
                      "cost_limit": config.get("cost_limit"), "tools": list(agent.tools),
                      "seed": spec.seed, "record_changes": spec.record_changes}
        env = _make_env(task, env_config)
        env_config["backend"] = env.unwrapped.backend  # the default, when none was named
        trajectory = Trajectory(
            task=task.id, agent=config["agent"], model=agent.model_name, seed=spec.seed,
            protocol=spec.protocol, backend=env_config["backend"], run_id=run_id,
            agent_config=config, env_config=env_config, out_dir=out)
        trajectory.data["method"] = method
        data = run_episode(env, agent, trajectory, seed=spec.seed, progress=progress)
    finally:
        if server is not None:
            server.stop()
    return Launched(data, out)


def uses_embedded_model(config: dict) -> bool:
    """True when the agent has a model section but names no model (or names ``embedded``).

    A model named by ``MLGYM_MODEL`` is written into ``config``.
    """
    model = config.get("model")
    if model is None:
        return False
    name = model.get("name") or os.environ.get("MLGYM_MODEL") or "embedded"
    if name == "embedded" and model.get("api_base"):
        raise ConfigError(f"--api-base {model['api_base']} is given but no model: name the model "
                          "served there, e.g. --model openai/<name>")
    if name != "embedded":
        config["model"] = {**model, "name": name}
    return name == "embedded"


def _make_env(task: Any, env_config: dict) -> Any:
    from mlgym.episode.env import MLGymEnv

    kwargs = {k: v for k, v in env_config.items() if v is not None}
    return MLGymEnv(task, **kwargs)


def _method(agent: str, model: str | None) -> str:
    from mlgym.agents.trajectory import method_name

    return method_name(agent, model)


def new_run_id() -> str:
    """A fresh run id: the time, and four hex digits in case two start in the same second."""
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def safe_name(text: str) -> str:
    """``text`` as a file name: runs of other characters than ``A-Za-z0-9._-`` become ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def default_out(run_id: str, task: str, method: str, seed: int) -> Path:
    """``<results dir>/<run id>/<task>__<method>__seed<k>``."""
    from mlgym.locations import results_dir

    return results_dir() / run_id / f"{task}__{safe_name(method)}__seed{seed}"
