"""The ``baseline`` and ``replay`` agents."""

from __future__ import annotations

from mlgym.agents import Agent, Exhausted
from mlgym.errors import ConfigError


class BaselineAgent(Agent):
    """Submits the workspace as the task ships it: the baseline scores.

    Tasks whose submission is a file the starter code writes (``predictions.csv``) or a trained
    checkpoint need that code run first: the agent runs the task's ``training.commands``
    (``info["training_commands"]``), or ``options.commands`` when given, in order, then
    ``submit``. A submission that fails ends the episode (exit reason ``error``) instead of
    retrying.
    """

    id = "baseline"

    def __init__(self, config: dict | None = None):
        super().__init__(config)
        commands = (self.config.get("options") or {}).get("commands") or []
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            raise ConfigError(f"baseline agent: options.commands must be a list of shell "
                              f"commands; got {commands!r}")
        self.commands = commands
        self._queue: list[str] = []

    def reset(self, observation: str, info: dict) -> None:
        commands = self.commands or list(info.get("training_commands") or [])
        self._queue = [*commands, "submit"]

    def act(self, observation: str, info: dict) -> str:
        if not self._queue:
            evaluation = info.get("evaluation") or {}
            raise Exhausted("the starter code as it is is not a valid submission ("
                            f"{(evaluation.get('error') or 'submit failed').strip()[:300]}); list "
                            "the commands that produce it in the task's training.commands or the "
                            "baseline agent's options.commands")
        return self._queue.pop(0)


class ReplayAgent(Agent):
    """Sends the actions of a saved trajectory again, in order.

    When the actions run out before the environment ends the episode, the episode ends the way
    the original did (its exit reason: ``format_error``, ``cost_limit``...). Tool bundles default
    to those the original episode had installed.
    """

    id = "replay"

    def __init__(self, config: dict):
        from mlgym.agents import trajectory

        super().__init__(config)
        path = (config.get("options") or {}).get("trajectory")
        if not path:
            raise ConfigError("the replay agent needs the trajectory to replay: set "
                              "options.trajectory in its config, or use `mlgym replay <file>`")
        self.source = trajectory.load(path)
        self.actions = [step["action"] for step in self.source["steps"]]
        if config.get("tools") is None:
            recorded = self.source["config"]["agent"].get("tools")
            self.tools = tuple(recorded or self.source["config"]["environment"].get("tools") or ())
        self._next = 0

    def reset(self, observation: str, info: dict) -> None:
        self._next = 0

    def act(self, observation: str, info: dict) -> str:
        if self._next >= len(self.actions):
            reason = self.source["exit_reason"]
            raise Exhausted(f"replayed all {len(self.actions)} actions; the original episode "
                            f"ended with {reason}", exit_reason=reason)
        self._next += 1
        return self.actions[self._next - 1]
