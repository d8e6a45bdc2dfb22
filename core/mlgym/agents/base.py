"""The agent interface: a policy over :class:`mlgym.episode.MLGymEnv`.

An agent reads observations and returns one action (a shell command line, or ``validate`` /
``submit``) at a time. The runner (:mod:`mlgym.agents.runner`) owns the loop; the agent owns its
history and its model. Agents are plugins: a distribution returns :class:`mlgym.plugins.AgentSpec`
from the ``mlgym_agents`` hook, and ``factory(config)`` builds the agent from its YAML config::

    class Echo(Agent):
        def act(self, observation, info):
            return "submit"

An agent ends the episode early by raising an :class:`AgentExit` subclass; its ``exit_reason`` is
one of the exit reasons of the result record (docs/CONTRACTS.md).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgym.errors import ConfigError, MLGymError

# -- control flow ---------------------------------------------------------------------------


class AgentExit(MLGymError):
    """Raised by :meth:`Agent.act` to end the episode; the runner auto-submits the workspace."""

    exit_reason = "error"


class FormatError(AgentExit):
    """The model kept answering in a form the agent cannot read, past its retry allowance."""

    exit_reason = "format_error"


class CostLimitExceeded(AgentExit):
    """The next model call could cost more than the budget left; it was not made."""

    exit_reason = "cost_limit"


class ContextWindowExceeded(AgentExit):
    """The conversation no longer fits the model's context window, even shortened."""

    exit_reason = "context_window"


class ModelError(AgentExit):
    """The model provider kept failing (after retries) or refused the request."""

    exit_reason = "error"


class Exhausted(AgentExit):
    """The agent has nothing more to do (a replay ran out of actions); the reason is given."""

    def __init__(self, message: str, exit_reason: str = "error"):
        super().__init__(message)
        self.exit_reason = exit_reason


# -- what an agent reports -----------------------------------------------------------------------


@dataclass
class Usage:
    """What an agent's model calls have cost so far (cumulative over the agent's life)."""

    cost: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    failed_calls: int = 0

    def minus(self, earlier: Usage) -> Usage:
        return Usage(self.cost - earlier.cost, self.input_tokens - earlier.input_tokens,
                     self.output_tokens - earlier.output_tokens, self.calls - earlier.calls,
                     self.failed_calls - earlier.failed_calls)


@dataclass
class Turn:
    """What happened inside one :meth:`Agent.act`: the trajectory stores it with the step."""

    thought: str = ""
    raw_reply: str = ""
    model_calls: list[dict] = field(default_factory=list)
    format_errors: list[dict] = field(default_factory=list)


class Agent(ABC):
    """A policy over MLGymEnv. Subclasses implement :meth:`act`; the rest has defaults.

    ``config`` is the agent's YAML (validated against ``schemas/agent.schema.json``) after
    command-line overrides. ``tools`` names the tool bundles the environment must install.
    """

    id: str = "agent"

    def __init__(self, config: dict | None = None):
        self.config: dict = dict(config or {})
        self.tools: tuple[str, ...] = tuple(self.config.get("tools") or ())
        self.turn = Turn()

    @property
    def model_name(self) -> str | None:
        """The model this agent queries, if any: results name the method ``<id>:<model>``.

        Agents that use a model override this; by default an agent has none.
        """
        return None

    def reset(self, observation: str, info: dict) -> None:  # noqa: B027 -- optional hook
        """Start a new episode; ``observation`` is the task prompt from ``env.reset``."""

    @abstractmethod
    def act(self, observation: str, info: dict) -> str:
        """The next action given the latest observation and ``info`` from the environment.

        The first call gets the same observation as :meth:`reset`. Before each call the runner
        gives the agent a fresh :attr:`turn` to fill in (discussion, raw reply, model calls).
        """

    @property
    def usage(self) -> Usage:
        """Cumulative model usage and cost; agents without a model cost nothing."""
        return Usage()

    def close(self) -> None:  # noqa: B027 -- optional hook
        """Release what the agent holds (model connections, files)."""


# -- building agents from the registry -------------------------------------------------------------


def merge_config(base: dict, override: dict) -> dict:
    """Deep-merge ``override`` into a copy of ``base``; mappings merge, other values replace."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def agent_config(agent_id: str | None = None, config_path: str | Path | None = None,
                 overrides: dict | None = None) -> dict:
    """The config an agent runs with: its package default, then a user YAML, then overrides.

    ``agent_id`` may be omitted when the YAML at ``config_path`` names its agent. The merged
    result is validated against the agent schema; every problem is reported at once.
    """
    from mlgym.plugins.registry import get_registry
    from mlgym.specs.config import load_config, validate_data

    user = load_config(config_path, "agent") if config_path else {}
    if agent_id and user.get("agent") and user["agent"] != agent_id:
        raise ConfigError(f"{config_path}: configures agent {user['agent']!r} but --agent is "
                          f"{agent_id!r}; drop one of them")
    agent_id = agent_id or user.get("agent") or "react"
    spec = get_registry().get("agents", agent_id)
    config: dict[str, Any] = {"agent": agent_id}
    if spec.config_path:
        config = merge_config(config, load_config(spec.config_path, "agent"))
    config = merge_config(config, user)
    config = merge_config(config, {k: v for k, v in (overrides or {}).items() if v is not None})
    problems = validate_data(config, "agent", str(config_path or f"<{agent_id} config>"))
    if problems:
        raise ConfigError("agent config after overrides is invalid:\n"
                          + "\n".join(f"  {p}" for p in problems), problems)
    return config


def create_agent(config: dict) -> Agent:
    """Build the agent ``config["agent"]`` names, through its plugin's factory."""
    from mlgym.plugins.registry import get_registry

    spec = get_registry().get("agents", config["agent"])
    agent = spec.factory(config)
    if not isinstance(agent, Agent):
        raise ConfigError(f"agent plugin {spec.id!r} returned {type(agent).__name__}, not an "
                          "mlgym.agents.Agent; its factory must return an Agent subclass")
    return agent
