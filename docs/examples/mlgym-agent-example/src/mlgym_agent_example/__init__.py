"""MLGym agent ``one-shot``: one model call, one script, then validate and submit."""

from __future__ import annotations

import re
from pathlib import Path

from mlgym import hookimpl
from mlgym.agents import Agent, FormatError, Usage
from mlgym.agents import CostBudget, make_model
from mlgym.plugins import AgentSpec

BLOCK = re.compile(r"```[\w-]*\n(.*?)```", re.DOTALL)


class OneShotAgent(Agent):
    """Asks the model for a script once; the episode is: script, validate, submit."""

    id = "one-shot"

    def __init__(self, config: dict):
        super().__init__(config)  # keeps config; self.tools = config["tools"] (none needed here)
        budget = CostBudget(config.get("cost_limit"))  # a call that could exceed it is not made
        self.model = make_model(config["model"], budgets=[budget])
        self.instructions = config["options"]["instructions"]
        self.plan: list[str] = []

    def reset(self, observation: str, info: dict) -> None:
        self.plan = []

    def act(self, observation: str, info: dict) -> str:
        if not self.plan and info["step"] == 0:  # first step: ask the model
            reply = self.model.query([{"role": "system", "content": self.instructions},
                                      {"role": "user", "content": observation}])
            self.turn.raw_reply = reply.content  # recorded in the trajectory
            self.turn.model_calls = self.model.calls[-1:]
            script = BLOCK.search(reply.content)
            if script is None:
                raise FormatError("the model's reply holds no fenced code block")
            self.turn.thought = BLOCK.sub("", reply.content).strip()
            self.plan = [script.group(1).strip(), "validate", "submit"]
        return self.plan.pop(0) if self.plan else "submit"

    @property
    def usage(self) -> Usage:
        return self.model.usage  # the runner reports it to the environment's cost budget

    @property
    def model_name(self) -> str:
        return self.model.name


@hookimpl
def mlgym_agents() -> list:
    return [AgentSpec("one-shot", OneShotAgent, "asks its model once for a script, runs it, "
                      "validates and submits", str(Path(__file__).with_name("one-shot.yaml")))]
