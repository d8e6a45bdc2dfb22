"""MLGym reference agents that need no model.

``baseline``
    submits the starter code as it is, so its scores are the task's baseline row;
``replay``
    replays the actions of a saved trajectory (``options.trajectory``), step for step.
"""

from __future__ import annotations

from mlgym import hookimpl
from mlgym.plugins import AgentSpec
from mlgym_agent_baseline.agents import BaselineAgent, ReplayAgent

__all__ = ["BaselineAgent", "ReplayAgent"]


@hookimpl
def mlgym_agents() -> list:
    return [
        AgentSpec("baseline", BaselineAgent,
                  "submits the starter code unchanged: reproduces the task's baseline scores"),
        AgentSpec("replay", ReplayAgent,
                  "replays the actions of a saved trajectory (options.trajectory: its path)"),
    ]
