"""The conversations an agent had with its model, rebuilt from a trajectory.

A trajectory stores what happened (task prompt, each step's observation and the model's raw
reply), not the messages sent to the model: those come from the agent's templates and its
history processing, which shorten old observations. To give training data *as the agent saw it*,
:func:`rebuild` drives the agent again, built from the config stored in the trajectory, with a
scripted model that answers each call with the reply the real model gave. Every message list the
agent sends is recorded, and each action it takes must equal the recorded action -- otherwise
the rebuild is refused (:class:`RebuildError`), so a record is never silently wrong.

``mode="tool_calls"`` rebuilds an episode run in text mode as the same agent in native
tool-calling mode: each reply becomes its discussion plus one ``bash`` call with the command.

The environment's reset ``info`` is not stored in a trajectory; the state line of the first
prompt uses the tool state recorded after the first step.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mlgym.errors import MLGymError

SHELL_TOOL = "bash"
_TOOL_CALL = re.compile(r"^\[tool call\] ([A-Za-z_][\w.-]*)\((.*)\)$")
MODES = ("text", "tool_calls")


class RebuildError(MLGymError, ValueError):
    """The agent, driven again, did not take the recorded actions (or cannot be rebuilt)."""


@dataclass
class ModelCall:
    """One model call of the episode: what was sent and what came back."""

    step: int  # the step whose action this reply produced
    messages: list[dict]  # as sent, history processing applied
    reply: dict  # the assistant message
    tools: list[dict] | None = None  # function declarations sent with the call, if any
    well_formed: bool = True  # False for a reply the agent refused (a format error)


@dataclass
class Conversation:
    """The model calls of one episode, in order, and the agent's full history at the end."""

    mode: str
    calls: list[ModelCall] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)


def rebuild(trajectory: dict, mode: str | None = None) -> Conversation:
    """Drive the trajectory's agent again and record every model call (see the module doc)."""
    from mlgym.agents.base import create_agent

    agent_config = copy.deepcopy(trajectory["config"]["agent"])
    if not isinstance(agent_config.get("model"), dict) or not trajectory.get("model"):
        raise RebuildError(f"agent {trajectory['agent']!r} used no model: there is no "
                           "conversation to rebuild")
    run_mode = agent_config.get("mode", "text")
    mode = mode or run_mode
    if mode not in MODES:
        raise RebuildError(f"mode {mode!r}: give one of {', '.join(MODES)}")
    converting = mode != run_mode
    if converting and run_mode != "text":
        raise RebuildError("only text-mode episodes convert to tool calls")
    replies = _replies(trajectory, as_tool_calls=converting)
    with tempfile.TemporaryDirectory(prefix="mlgym-export-") as folder:
        script = Path(folder) / "replies.yaml"
        script.write_text(yaml.safe_dump(replies, allow_unicode=True, sort_keys=False))
        model = dict(agent_config["model"], name=f"scripted:{script}")
        model.pop("api_base", None)
        agent_config.update(model=model, mode=mode)
        if converting:  # native calls, as a tool-calling model makes them
            agent_config.setdefault("options", {})["constrained_decoding"] = False
        agent_config.pop("run_cost_ledger", None)
        agent = create_agent(agent_config)
        try:
            return _drive(agent, trajectory, mode)
        finally:
            agent.close()


def _drive(agent, trajectory: dict, mode: str) -> Conversation:
    steps = trajectory["steps"]
    environment = trajectory["config"]["environment"]
    first_state = steps[0].get("state") if steps else None
    info = {"step": 0, "state": first_state or {}, "max_steps": environment.get("max_steps")}
    agent.reset(trajectory["task_prompt"], info)
    model = getattr(agent, "model", None)
    tools_sent: list = []
    if model is None or not hasattr(model, "prompts"):
        raise RebuildError(f"agent {trajectory['agent']!r} does not query its model through "
                           "mlgym.agents.Model; its conversation cannot be rebuilt")
    complete = model._complete

    def recording(messages, tools, grammar=None):
        tools_sent.append(copy.deepcopy(tools))
        return complete(messages, tools, grammar)

    model._complete = recording
    observation = trajectory["task_prompt"]
    conversation = Conversation(mode=mode)
    for step in steps:
        before = len(model.prompts)
        action = agent.act(observation, info)
        if action != step["action"]:
            raise RebuildError(f"step {step['step']}: the agent driven again chose "
                               f"{action[:80]!r}, the trajectory records {step['action'][:80]!r}")
        for index in range(before, len(model.prompts)):
            well_formed = index == len(model.prompts) - 1
            reply = _assistant_reply(agent, well_formed, model.prompts, index)
            conversation.calls.append(ModelCall(step=step["step"], messages=model.prompts[index],
                                                reply=reply, tools=tools_sent[index],
                                                well_formed=well_formed))
        observation = step["observation"]
        info = {"step": step["step"], "state": step.get("state") or {},
                "max_steps": environment.get("max_steps")}
    conversation.history = [_public(m) for m in getattr(agent, "messages", [])]
    return conversation


def _assistant_reply(agent, well_formed: bool, prompts: list, index: int) -> dict:
    """The reply to call ``index``: the agent's own assistant message when it accepted it."""
    if well_formed:
        messages = getattr(agent, "messages", [])
        for message in reversed(messages):
            if message.get("role") == "assistant":
                return _public(message)
    # a refused reply: the retry that followed carries it as the assistant message
    following = prompts[index + 1] if index + 1 < len(prompts) else []
    for message in reversed(following):
        if message.get("role") == "assistant":
            return _public(message)
    return {"role": "assistant", "content": ""}


def _replies(trajectory: dict, as_tool_calls: bool) -> list:
    """The scripted model's replies: each step's refused replies, then the one it acted on."""
    replies: list = []
    for step in trajectory["steps"]:
        for error in step.get("format_errors") or []:
            replies.append(_reply(error["reply"], None, as_tool_calls=False))
        replies.append(_reply(step.get("raw_reply") or "", step, as_tool_calls))
    return replies


def _reply(raw: str, step: dict | None, as_tool_calls: bool) -> str | dict:
    if as_tool_calls and step is not None:
        return {"content": step.get("thought") or "",
                "tool_calls": [{"name": SHELL_TOOL, "arguments": {"command": step["action"]}}]}
    lines = raw.split("\n")
    calls: list[dict] = []
    while lines and (match := _TOOL_CALL.match(lines[-1])):
        calls.insert(0, {"name": match.group(1), "arguments": _arguments(match.group(2))})
        lines.pop()
    content = "\n".join(lines).strip()
    return {"content": content, "tool_calls": calls} if calls else raw


def _arguments(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _public(message: dict) -> dict:
    return {k: v for k, v in message.items() if k != "mlgym"}
