"""History processors: what part of the conversation the model sees at each step.

The agent keeps the whole conversation; before each model call a processor turns it into the
messages actually sent. The default, ``last_n_observations``, keeps the last ``n`` observations in
full and replaces older ones by a one-line note with their line count, as the MLGym paper's
harness does with ``n = 5``. Processors are looked up by name in :data:`PROCESSORS`; a config may
also name any function as ``package.module:function``.

A processor is ``processor(messages, n) -> messages``, where ``n`` is the number of observations
to keep whole (``history.full_observations``; the agent lowers it to 0 when the prompt overflows
the context window). Each message is an OpenAI-style dict; observation messages carry
``"mlgym": {"observation": <the raw observation>}``, which the agent strips before sending.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from mlgym.errors import ConfigError, UnknownIdError

Processor = Callable[..., list[dict]]
PROCESSORS: dict[str, Processor] = {}


def history_processor(name: str) -> Callable[[Processor], Processor]:
    """Register a processor under ``name`` (usable as ``history.processor: name``)."""

    def register(function: Processor) -> Processor:
        PROCESSORS[name] = function
        return function

    return register


def is_observation(message: dict) -> bool:
    return bool((message.get("mlgym") or {}).get("observation") is not None)


def elided(message: dict) -> dict:
    """The message with its observation replaced by a note of how long it was."""
    observation = message["mlgym"]["observation"]
    lines = observation.count("\n") + 1 if observation else 0
    note = f"Old output omitted ({lines} line{'s' if lines != 1 else ''})."
    return {**message, "content": note}


@history_processor("last_n_observations")
def last_n_observations(messages: list[dict], n: int = 5) -> list[dict]:
    """Keep the last ``n`` observations in full; older ones become a line-count note."""
    positions = [i for i, m in enumerate(messages) if is_observation(m)]
    old = set(positions[:-n] if n > 0 else positions)
    return [elided(m) if i in old else m for i, m in enumerate(messages)]


@history_processor("full")
def full(messages: list[dict], n: int = 0) -> list[dict]:
    """Keep every observation in full."""
    return list(messages)


@history_processor("commands_only")
def commands_only(messages: list[dict], n: int = 5) -> list[dict]:
    """As ``last_n_observations``, and the agent's earlier replies shortened to their command.

    For small models, which copy their own last reply: each earlier reply keeps only its fenced
    command block, so the discussion of the next reply is not drawn to repeat the last one.
    """
    kept = last_n_observations(messages, n)
    shortened = []
    for message in kept:
        demonstration = (message.get("mlgym") or {}).get("demonstration")
        content = message.get("content") or ""
        if message["role"] == "assistant" and not demonstration and "```" in content:
            content = content[content.index("```"):]
            message = {**message, "content": content}
        shortened.append(message)
    return shortened


def resolve(name: str) -> Processor:
    """The processor registered as ``name``, or the function at ``module:function``."""
    if name in PROCESSORS:
        return PROCESSORS[name]
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"history.processor {name!r} cannot be loaded ({exc}); give a "
                              f"registered name ({', '.join(sorted(PROCESSORS))}) or "
                              "an importable package.module:function") from None
        if not callable(function):
            raise ConfigError(f"history.processor {name!r} is not callable")
        return function
    raise UnknownIdError("history processor", name, sorted(PROCESSORS))
