"""Training records made from one episode: chat records for SFT and step records for RL.

**Chat records** (``chat_records``) are TRL's *conversational prompt-completion* format, which
TRL's ``SFTTrainer`` and the ``datasets`` library read directly: one record per model call the
agent acted on, ``prompt`` the messages as the agent sent them (system prompt, task, earlier
turns with old observations shortened by its history processing) and ``completion`` the reply,
so the loss falls on the reply only. ``mode="tool_calls"`` gives native tool calls
(``tool_calls`` on the assistant message, ``tool`` messages for observations) and a ``tools``
column with the function declarations sent; ``mode="text"`` the fenced-command replies.

**Step records** (``step_records``, schema ``mlgym-steps/1`` in ``schemas/step-record.schema.json``)
are one transition each: ``observation`` (what the agent saw before acting), ``action``,
``reward``, ``terminated``, ``truncated``, ``next_observation``, with the episode's id.

Both carry ``episode_id``, ``task``, ``method``, ``seed``, ``step`` and ``score`` (the episode's
best score among the evaluations that count under the selection's split).
"""

from __future__ import annotations

import json

from mlgym.export.conversations import Conversation
from mlgym.export.selection import Episode, Selection, iter_withheld_steps

STEP_FORMAT = "mlgym-steps/1"
WITHHELD = "[the result of an evaluation on the test split is withheld from this export]"


def withheld_observations(episode: Episode, selection: Selection) -> dict[int, str]:
    """Step -> observation text that must not appear in this export."""
    steps = set(iter_withheld_steps(episode.data, selection))
    return {s["step"]: s["observation"] for s in episode.data["steps"] if s["step"] in steps}


def _hide(text: str, hidden: dict[int, str]) -> str:
    for observation in hidden.values():
        if observation and observation in text:
            text = text.replace(observation, WITHHELD)
    return text


def _hide_in_message(message: dict, hidden: dict[int, str]) -> dict:
    if not hidden or not isinstance(message.get("content"), str):
        return message
    return {**message, "content": _hide(message["content"], hidden)}


def _meta(episode: Episode, step: int | None) -> dict:
    data = episode.data
    return {"episode_id": episode.id, "task": data["task"], "method": data["method"],
            "seed": data["seed"], "step": step, "score": episode.score}


def chat_records(episode: Episode, conversation: Conversation, selection: Selection) -> list[dict]:
    """One prompt-completion record per model call the agent acted on."""
    hidden = withheld_observations(episode, selection)
    records = []
    for call in conversation.calls:
        if not call.well_formed:
            continue
        record = {
            "prompt": [_chat_message(m, hidden) for m in call.messages],
            "completion": [_chat_message(call.reply, {})],
            **_meta(episode, call.step), "format": conversation.mode,
        }
        if conversation.mode == "tool_calls":
            record["tools"] = call.tools or []
        records.append(record)
    return records


def _chat_message(message: dict, hidden: dict[int, str]) -> dict:
    """An OpenAI-style message as chat templates expect it (tool arguments as objects)."""
    out = {"role": message["role"], "content": message.get("content") or ""}
    out = _hide_in_message(out, hidden)
    if message.get("tool_calls"):
        out["tool_calls"] = [{"type": "function", "function": {
            "name": call["function"]["name"],
            "arguments": _as_object(call["function"]["arguments"])}}
            for call in message["tool_calls"]]
    if message["role"] == "tool":
        out["tool_call_id"] = message.get("tool_call_id") or ""
    return out


def _as_object(arguments):
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except json.JSONDecodeError:
            return {"input": arguments}
    return arguments


def step_records(episode: Episode, selection: Selection) -> list[dict]:
    """One transition per step (see the module doc)."""
    data = episode.data
    hidden = withheld_observations(episode, selection)
    splits = {e["step"]: e for e in data.get("evaluations") or [] if e.get("step") is not None}
    records = []
    observation = data["task_prompt"]
    for step in data["steps"]:
        number = step["step"]
        withheld = number in hidden
        evaluation = splits.get(number)
        next_observation = WITHHELD if withheld else _hide(step["observation"], hidden)
        records.append({
            "format": STEP_FORMAT, **_meta(episode, number),
            "observation": observation, "action": step["action"],
            "reward": 0.0 if withheld else float(step.get("reward") or 0.0),
            "terminated": bool(step.get("terminated")), "truncated": bool(step.get("truncated")),
            "next_observation": next_observation,
            "action_kind": step.get("action_kind"),
            "evaluation": None if evaluation is None or withheld else {
                "split": evaluation["split"], "ok": evaluation["ok"],
                "scores": evaluation.get("scores")},
        })
        observation = next_observation
    return records
