"""MLGym agent ``react``: the default LLM research agent (discussion + one command per turn).

Registered through the ``mlgym`` entry point group; its default configuration is
``config/default.yaml`` next to this file.
"""

from __future__ import annotations

from pathlib import Path

from mlgym import hookimpl
from mlgym.plugins import AgentSpec

DEFAULT_CONFIG = Path(__file__).parent / "config" / "default.yaml"


def create(config: dict):
    """The agent factory (``AgentSpec.factory``)."""
    from mlgym_agent_react.agent import ReactAgent

    return ReactAgent(config)


@hookimpl
def mlgym_agents() -> list:
    return [AgentSpec("react", create, "LLM research agent: a discussion and one command per "
                      "turn (or a native tool call), through any litellm model",
                      str(DEFAULT_CONFIG))]
