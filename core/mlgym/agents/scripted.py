"""A scripted model: pre-written replies instead of an LLM, for tests, docs and demos.

It goes through the same budgets and bookkeeping as a real model, so an episode driven by it
exercises everything but the network::

    model = ScriptedModel(["Let me look.\\n```\\nls\\n```", "Done.\\n```\\nsubmit\\n```"],
                          price=Price(1.0, 2.0))

On the command line, ``--model scripted:replies.yaml`` reads the replies from a YAML list. A reply
is a string (the model's text) or a mapping with any of:

``content``
    the text;
``tool_calls``
    a list of ``{name, arguments}`` (native tool-calling mode);
``usage``
    ``[input_tokens, output_tokens]`` (default: about four characters a token);
``error``
    ``rate_limit`` or ``server_error`` (a failure worth retrying), ``context_window``, or
    ``fatal`` -- the call fails instead of answering.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlgym.agents.base import ContextWindowExceeded, ModelError
from mlgym.agents.models import (
    CostBudget,
    Model,
    ModelConfig,
    ModelReply,
    Price,
    TransientModelError,
)
from mlgym.errors import ConfigError
from mlgym.specs.config import load_yaml

Reply = str | dict | Callable[[list[dict]], Any]
_ERRORS = ("rate_limit", "server_error", "context_window", "fatal")


class ScriptedModel(Model):
    """Answers each query with the next scripted reply; running out is a model error."""

    def __init__(self, replies: list[Reply], price: Price | None = None,
                 config: ModelConfig | None = None, budgets: list[CostBudget] | None = None):
        config = config or ModelConfig(name="scripted", price=price, backoff=0.0)
        if price is not None and config.price is None:
            config = ModelConfig(**{**vars(config), "price": price})
        super().__init__(config, budgets)
        self.replies = list(replies)
        self.prompts: list[list[dict]] = []  # every conversation it was asked to continue
        for i, entry in enumerate(self.replies):
            _check(entry, f"reply {i + 1}")

    @classmethod
    def from_file(cls, path: str | Path, config: ModelConfig | None = None,
                  budgets: list[CostBudget] | None = None) -> ScriptedModel:
        """Read replies from a YAML file holding a list (or a mapping with ``replies:``)."""
        data, _ = load_yaml(path)
        if isinstance(data, dict):
            data = data.get("replies")
        if not isinstance(data, list):
            raise ConfigError(f"{path}: expected a YAML list of replies (or 'replies: [...]')")
        return cls(data, config=config, budgets=budgets)

    def _complete(self, messages: list[dict], tools: list[dict] | None,
                  grammar: str | None = None) -> ModelReply:
        self.prompts.append([dict(m) for m in messages])
        if not self.replies:
            raise ModelError(f"scripted model ran out of replies after {len(self.prompts) - 1} "
                             "calls; add replies to the script")
        entry = self.replies.pop(0)
        if callable(entry):
            entry = entry(messages)
            _check(entry, "reply returned by a callable")
        if isinstance(entry, str):
            entry = {"content": entry}
        error = entry.get("error")
        if error in ("rate_limit", "server_error"):
            raise TransientModelError(f"scripted {error}")
        if error == "context_window":
            raise ContextWindowExceeded("scripted context window overflow")
        if error == "fatal":
            raise ModelError("scripted fatal error")
        content = entry.get("content") or ""
        calls = [{"id": f"call_{len(self.prompts)}_{i}", "name": c["name"],
                  "arguments": c.get("arguments", {})}
                 for i, c in enumerate(entry.get("tool_calls") or [])]
        usage = entry.get("usage")
        input_tokens, output_tokens = usage if usage else (
            self.count_tokens(messages, tools), max(1, len(content) // 4))
        return ModelReply(content=content, tool_calls=calls, input_tokens=input_tokens,
                          output_tokens=output_tokens, cost=self.cost(input_tokens, output_tokens))


def _check(entry: Any, where: str) -> None:
    if callable(entry) or isinstance(entry, str):
        return
    if not isinstance(entry, dict):
        raise ConfigError(f"scripted model, {where}: expected a string or a mapping, "
                          f"found {type(entry).__name__}")
    unknown = set(entry) - {"content", "tool_calls", "usage", "error"}
    if unknown:
        raise ConfigError(f"scripted model, {where}: unknown keys {sorted(unknown)}; allowed: "
                          "content, tool_calls, usage, error")
    if entry.get("error") not in (None, *_ERRORS):
        raise ConfigError(f"scripted model, {where}: error {entry['error']!r} is not one of "
                          f"{', '.join(_ERRORS)}")
