"""The episode: one research task as a Gymnasium environment.

- :mod:`~mlgym.episode.env`: :class:`MLGymEnv` (``reset``/``step``, budgets, ``validate`` and
  ``submit``, the reward);
- :mod:`~mlgym.episode.workspace`: the agent's files in a sandbox and what is mounted around them;
- :mod:`~mlgym.episode.evaluation`: the task's evaluator run out of the agent's reach, its scores;
- :mod:`~mlgym.episode.submission`: the snapshot of the submission files the evaluator reads;
- :mod:`~mlgym.episode.datasets`, :mod:`~mlgym.episode.environments`: the data and the Python a
  task declares, made ready once and shared by its episodes;
- :mod:`~mlgym.episode.actions`: the kinds of action an agent takes;
- :mod:`~mlgym.episode.registration`: every installed task as ``gymnasium.make("mlgym/<id>")``.

Layer: imports :mod:`mlgym.errors`, :mod:`mlgym.locations`, :mod:`mlgym.specs`,
:mod:`mlgym.plugins`, :mod:`mlgym.sandbox` and :mod:`mlgym.player`; never the agents, scoring or
the command line.

``import mlgym`` loads this part for its registration, so the other names load on first use:
gymnasium and the YAML checkers are not imported until something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlgym.episode.actions import ACTION_KINDS, classify
from mlgym.episode.registration import env_id, register_envs, register_when_gymnasium_loads

if TYPE_CHECKING:
    from mlgym.episode.datasets import cached_path, materialise
    from mlgym.episode.env import EXIT_REASONS, PROTOCOLS, MLGymEnv, check_action, fit_text
    from mlgym.episode.environments import EnvironmentBuildError, ensure_environment
    from mlgym.episode.evaluation import (
        Evaluation,
        EvaluatorOutputError,
        EvaluatorSetup,
        evaluate,
        improvement_reward,
        parse_scores,
    )
    from mlgym.episode.workspace import Workspace

_LAZY = {
    "cached_path": "datasets", "materialise": "datasets",
    "EXIT_REASONS": "env", "PROTOCOLS": "env", "MLGymEnv": "env", "check_action": "env",
    "fit_text": "env",
    "EnvironmentBuildError": "environments", "ensure_environment": "environments",
    "Evaluation": "evaluation", "EvaluatorOutputError": "evaluation",
    "EvaluatorSetup": "evaluation", "evaluate": "evaluation",
    "improvement_reward": "evaluation", "parse_scores": "evaluation",
    "Workspace": "workspace",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ACTION_KINDS",
    "EXIT_REASONS",
    "PROTOCOLS",
    "EnvironmentBuildError",
    "Evaluation",
    "EvaluatorOutputError",
    "EvaluatorSetup",
    "MLGymEnv",
    "Workspace",
    "cached_path",
    "check_action",
    "classify",
    "ensure_environment",
    "env_id",
    "evaluate",
    "fit_text",
    "improvement_reward",
    "materialise",
    "parse_scores",
    "register_envs",
    "register_when_gymnasium_loads",
]
