"""MLGym's search reference: ``automl``, a hyperparameter search over a task's knobs, no LLM.

Reports show it beside every LLM method ("LLM gain over search"): it declares itself the search
reference through :attr:`mlgym.plugins.AgentSpec.reference`.
"""

from __future__ import annotations

from pathlib import Path

from mlgym import hookimpl
from mlgym.plugins import AgentSpec
from mlgym_agent_automl.agent import AutoMLAgent
from mlgym_agent_automl.knobs import Knob, task_knobs

__all__ = ["AutoMLAgent", "Knob", "task_knobs"]


@hookimpl
def mlgym_agents() -> list:
    return [AgentSpec("automl", AutoMLAgent,
                      "tunes the knobs a task declares with Optuna's TPE sampler within the "
                      "episode's budgets, then submits the best trial (the search reference)",
                      str(Path(__file__).parent / "automl.yaml"), reference="search")]
