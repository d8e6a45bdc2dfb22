"""The ReAct research agent: a discussion and one command per turn, through any litellm model.

Each :meth:`ReactAgent.act` renders the latest observation into the conversation, sends the
processed history to the model, and reads the reply (text mode: one fenced block; ``tool_calls``
mode: one native tool call). Where the model's server takes a grammar
(``model.constrained_decoding``), each call carries the grammar of the reply format, so replies
are well-formed by construction; in ``tool_calls`` mode the call is then written as a JSON object
(see :func:`~mlgym_agent_react.replies.tool_call_grammar`). A malformed reply is answered with the
``format_error`` template and retried ``format_retries`` times before the episode ends with ``format_error``. A prompt that no
longer fits the context window is shortened (fewer full observations, then the oldest turns)
before the episode ends with ``context_window``.
"""

from __future__ import annotations

import json

from mlgym.agents import (
    Agent,
    ContextWindowExceeded,
    CostBudget,
    FormatError,
    LedgerBudget,
    Model,
    ModelReply,
    Turn,
    Usage,
    make_model,
)
from mlgym.errors import ConfigError
from mlgym.plugins import get_registry
from mlgym_agent_react import history, prompts, replies

DEFAULT_MAX_STEPS = 50


class ReactAgent(Agent):
    """The default LLM agent (``react``), configured by its agent YAML."""

    id = "react"

    def __init__(self, config: dict, model: Model | None = None):
        super().__init__(config)
        self.mode = config.get("mode", "text")
        self.format_retries = int(config.get("format_retries", 3))
        self.templates = prompts.Templates(config.get("templates") or {})
        options = config.get("history") or {}
        self.processor = history.resolve(options.get("processor", "last_n_observations"))
        self.small_model_processor = history.resolve(
            options.get("small_model_processor", "commands_only"))
        self.full_observations = int(options.get("full_observations", 5))
        options = config.get("options") or {}
        self.block_languages = options.get("block_languages", ["", "bash", "sh", "shell", "console"])
        self.constrain = bool(options.get("constrained_decoding", True))
        self.small_model_programs = [p + " " for p in options.get("small_model_programs", [])]
        self.command_lines: int | None = options.get("command_lines")
        registry = get_registry()
        tool_ids = config.get("tools")
        if tool_ids is None:  # not configured: every installed bundle
            tool_ids = registry.ids("tools")
        self.bundles = [registry.get("tools", bundle_id) for bundle_id in tool_ids]
        self.tools = tuple(b.id for b in self.bundles)
        self.commands = prompts.command_docs(self.bundles)
        self._model = model
        self.messages: list[dict] = []
        self.max_steps: int | None = config.get("max_steps")
        self._started = False
        self._step = 0  # the steps taken so far, as the last observation's info said

    # -- the model ------------------------------------------------------------------------------

    @property
    def model(self) -> Model:
        if self._model is None:
            budgets = [CostBudget(self.config.get("cost_limit"), "episode")]
            if self.config.get("run_cost_ledger"):
                budgets.append(LedgerBudget(self.config["run_cost_ledger"],
                                            self.config.get("run_cost_limit"), "run"))
            self._model = make_model(self.config.get("model") or {}, budgets)
        return self._model

    @property
    def model_name(self) -> str | None:
        return self._model.name if self._model else (self.config.get("model") or {}).get("name")

    @property
    def small_model(self) -> bool:
        return bool(self.model.config.small)

    @property
    def usage(self) -> Usage:
        return self._model.usage if self._model else Usage()

    # -- the policy -----------------------------------------------------------------------------

    def reset(self, observation: str, info: dict) -> None:
        self.max_steps = info.get("max_steps") or self.config.get("max_steps") or DEFAULT_MAX_STEPS
        model = self.model  # built now, so that a bad model config fails before the first step
        system = self.templates.render("system", commands=self.commands, mode=self.mode,
                                       max_steps=self.max_steps, small_model=self.small_model)
        self.messages = [{"role": "system", "content": system}]
        if self.small_model:
            self.messages += prompts.demonstration_messages(self.config.get("demonstration"))
        self._started = False
        if self.mode == "tool_calls" and not (model.supports_tool_calls() or self.constrained):
            raise ConfigError(f"mode: tool_calls, but litellm says {model.name} cannot call "
                              "tools; use mode: text")

    def act(self, observation: str, info: dict) -> str:
        self.turn = Turn()  # also when act() is called outside the runner
        self._add_observation(observation, info)
        calls_before = len(self.model.calls)
        try:
            thought, action, raw = self._query_until_well_formed()
        finally:
            self.turn.model_calls = self.model.calls[calls_before:]
        self.turn.thought, self.turn.raw_reply = thought, raw
        return action

    def _add_observation(self, observation: str, info: dict) -> None:
        state = prompts.state_line(info, self.max_steps)
        self._step = int(info.get("step") or 0)
        if not self._started:
            self._started = True
            content = self.templates.render("instance", task_prompt=observation, state=state,
                                            small_model=self.small_model)
            self.messages.append({"role": "user", "content": content})
            return
        content = self.templates.render(
            "next_step", observation=observation, state=state, step=self._step,
            max_steps=self.max_steps, steps_left=max(0, self.max_steps - self._step),
            small_model=self.small_model)
        message = {"role": "user", "content": content, "mlgym": {"observation": observation}}
        last = self.messages[-1]
        if self.mode == "tool_calls" and last.get("tool_calls"):
            message.update(role="tool", tool_call_id=last["tool_calls"][0]["id"])
        self.messages.append(message)

    def _query_until_well_formed(self) -> tuple[str, str, str]:
        retry: list[dict] = []
        for attempt in range(self.format_retries + 1):
            reply = self._query(retry)
            try:
                thought, action = self._parse(reply)
            except replies.MalformedReply as exc:
                self.turn.format_errors.append({"reply": _describe(reply), "error": str(exc)})
                retries_left = self.format_retries - attempt
                if retries_left == 0:
                    raise FormatError(f"{self.format_retries + 1} malformed replies in a row; "
                                      f"the last: {exc}") from None
                error = self.templates.render("format_error", error=str(exc), mode=self.mode,
                                              retries_left=retries_left,
                                              small_model=self.small_model)
                retry = [{"role": "assistant", "content": _describe(reply)},
                         {"role": "user", "content": error}]
                continue
            self.messages.append(self._assistant_message(reply))
            return thought, action, _describe(reply)
        raise AssertionError("unreachable")

    @property
    def constrained(self) -> bool:
        """Whether replies are constrained by a grammar (the option is on, the server takes one)."""
        return self.constrain and self.model.accepts_grammar

    def _grammar(self) -> str | None:
        """The grammar of the reply format, when the model's server constrains replies to one."""
        if not self.constrained:
            return None
        if self.mode == "tool_calls":
            return replies.tool_call_grammar(self.commands)
        if not self.small_model:
            return replies.text_grammar(self.command_lines)
        # one line per command: the commands that take a text block after their line are left out
        programs = [c.name + " " if c.arguments else c.name
                    for c in self.commands if not c.end_name]
        programs += self.small_model_programs
        return replies.text_grammar(self.command_lines or 1, f"Step {self._step + 1}: I will ",
                                    programs)

    def _parse(self, reply: ModelReply) -> tuple[str, str]:
        if self.mode == "tool_calls":
            commands = {c.name: c for c in self.commands}
            if not reply.tool_calls and self.constrained:  # the call written as JSON
                return replies.parse_tool_json(reply.content, commands)
            return replies.parse_tool_calls(reply.content, reply.tool_calls, commands)
        return replies.parse_text(reply.content, self.block_languages)

    def _query(self, retry: list[dict]) -> ModelReply:
        """One model call; a context-window overflow shortens the history and tries again."""
        keep = self.full_observations
        processor = self.small_model_processor if self.small_model else self.processor
        grammar, tools = self._grammar(), self._tool_schemas()
        while True:
            sent = processor(self.messages, n=keep) + retry
            try:
                return self.model.query([_public(m) for m in sent], tools, grammar=grammar)
            except ContextWindowExceeded:
                if keep > 0:
                    keep = 0
                elif not self._drop_oldest_turn():
                    raise

    def _drop_oldest_turn(self) -> bool:
        """Forget the oldest assistant reply and its observation; False when none is left."""
        for i, message in enumerate(self.messages[2:], start=2):  # keep system and task
            if message["role"] == "assistant":
                end = i + 1
                if end < len(self.messages) and history.is_observation(self.messages[end]):
                    end += 1
                if end >= len(self.messages):
                    return False  # that is the turn being answered now
                del self.messages[i:end]
                return True
        return False

    def _tool_schemas(self) -> list[dict] | None:
        # with a grammar the call is written as JSON: servers refuse tools beside a grammar
        if self.mode != "tool_calls" or self.constrained:
            return None
        schemas = [replies.tool_schema(c) for c in self.commands]
        if replies.SHELL_TOOL not in {c.name for c in self.commands}:
            schemas.append(replies.shell_tool_schema())
        return schemas

    def _assistant_message(self, reply: ModelReply) -> dict:
        message = {"role": "assistant", "content": reply.content}
        if self.mode == "tool_calls" and reply.tool_calls:
            call = reply.tool_calls[0]
            arguments = call["arguments"]
            message["tool_calls"] = [{"id": call["id"], "type": "function", "function": {
                "name": call["name"],
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}}]
        return message

    def close(self) -> None:
        self.messages = []


def _public(message: dict) -> dict:
    return {k: v for k, v in message.items() if k != "mlgym"}


def _describe(reply: ModelReply) -> str:
    """The reply as text, tool calls included (for the trajectory and format-error retries)."""
    text = reply.content or ""
    for call in reply.tool_calls:
        arguments = call["arguments"]
        arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
        text += f"\n[tool call] {call['name']}({arguments})"
    return text.strip()
