"""Agents: policies over the environment, the models they query, and the records of their episodes.

- :mod:`~mlgym.agents.base`: the :class:`Agent` interface, the exceptions that end an episode
  early, and agents built from the registry (:func:`agent_config`, :func:`create_agent`);
- :mod:`~mlgym.agents.models`: the :class:`Model` interface, prices and budgets that hold;
- :mod:`~mlgym.agents.providers`: the models a YAML names (:func:`make_model`): any litellm
  provider, or :mod:`~mlgym.agents.scripted` replies;
- :mod:`~mlgym.agents.embedded`: the small default model served on loopback;
- :mod:`~mlgym.agents.runner`: the episode loop (:func:`run_episode`);
- :mod:`~mlgym.agents.launch`: one episode from a plain :class:`EpisodeSpec`
  (:func:`run_episode_from_spec`), as ``mlgym run`` and each benchmark worker run it;
- :mod:`~mlgym.agents.trajectory`: the versioned trajectory and result record of an episode.

Layer: imports :mod:`mlgym.errors`, :mod:`mlgym.specs`, :mod:`mlgym.plugins` and
:mod:`mlgym.episode`; never the scoring or the command line. litellm loads on the first query.
"""

from mlgym.agents.base import (
    Agent,
    AgentExit,
    ContextWindowExceeded,
    CostLimitExceeded,
    Exhausted,
    FormatError,
    ModelError,
    Turn,
    Usage,
    agent_config,
    create_agent,
    merge_config,
)
from mlgym.agents.embedded import EmbeddedModelError, EmbeddedServer
from mlgym.agents.launch import EpisodeSpec, run_episode_from_spec
from mlgym.agents.models import (
    CostBudget,
    LedgerBudget,
    Model,
    ModelConfig,
    ModelReply,
    Price,
    TransientModelError,
)
from mlgym.agents.providers import LiteLLMModel, make_model
from mlgym.agents.runner import ProgressView, run_episode, summary
from mlgym.agents.scripted import ScriptedModel
from mlgym.agents.trajectory import Trajectory, method_name, result_record

__all__ = [
    "Agent",
    "AgentExit",
    "ContextWindowExceeded",
    "CostBudget",
    "CostLimitExceeded",
    "EmbeddedModelError",
    "EmbeddedServer",
    "EpisodeSpec",
    "Exhausted",
    "FormatError",
    "LedgerBudget",
    "LiteLLMModel",
    "Model",
    "ModelConfig",
    "ModelError",
    "ModelReply",
    "Price",
    "ProgressView",
    "ScriptedModel",
    "Trajectory",
    "TransientModelError",
    "Turn",
    "Usage",
    "agent_config",
    "create_agent",
    "make_model",
    "merge_config",
    "method_name",
    "result_record",
    "run_episode",
    "run_episode_from_spec",
    "summary",
]
