"""Language models for agents: one interface, with costs recorded and budgets that hold.

:class:`Model.query` is the one entry point. Before a call it estimates the most the call can
cost (prompt tokens x input price + ``max_tokens`` x output price) and reserves that in every
budget it answers to (the episode's, and the run's when there is one); a call that could exceed a
budget is not made and :class:`~mlgym.agents.CostLimitExceeded` is raised instead. Afterwards the
reservation is replaced by the real cost. Failed calls and replies that cannot be parsed count.

The models an agent's YAML can name are in :mod:`mlgym.agents.providers` (any litellm provider)
and :mod:`mlgym.agents.scripted` (pre-written replies); :func:`~mlgym.agents.providers.make_model`
picks one.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from mlgym.agents.base import ContextWindowExceeded, CostLimitExceeded, ModelError, Usage
from mlgym.errors import ConfigError

DEFAULT_MAX_TOKENS = 4096
CONSTRAINED_DECODING = ("gbnf",)  # the grammar formats a model's server may accept


# -- prices and budgets ----------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """Dollars per million input (prompt) and output (completion) tokens."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


class CostBudget:
    """A spending limit in dollars. ``reserve`` before a call, ``settle`` after it."""

    def __init__(self, limit: float | None, name: str = "episode"):
        self.limit, self.name = limit, name
        self.spent = 0.0
        self._reserved = 0.0

    def reserve(self, amount: float) -> None:
        """Hold ``amount`` for a call, or raise :class:`CostLimitExceeded` if it may not fit."""
        spent, reserved = self._totals()
        if self.limit is not None and spent + reserved + amount > self.limit:
            raise CostLimitExceeded(
                f"{self.name} cost limit ${self.limit:.4f} reached: ${spent:.4f} spent, the next "
                f"call could cost up to ${amount:.4f}")
        self._add(0.0, amount)

    def settle(self, reserved: float, actual: float) -> None:
        """Replace a reservation by what the call actually cost."""
        self._add(actual, -reserved)

    def _totals(self) -> tuple[float, float]:
        return self.spent, self._reserved

    def _add(self, spent: float, reserved: float) -> None:
        self.spent += spent
        self._reserved = max(0.0, self._reserved + reserved)


class LedgerBudget(CostBudget):
    """A budget shared by the episodes of a run, in other processes too: a JSON file under a lock."""

    def __init__(self, path: str | Path, limit: float | None, name: str = "run"):
        super().__init__(limit, name)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock")

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {"spent": 0.0, "reserved": 0.0}

    def reserve(self, amount: float) -> None:
        with self._lock:
            super().reserve(amount)

    def settle(self, reserved: float, actual: float) -> None:
        with self._lock:
            super().settle(reserved, actual)

    def _totals(self) -> tuple[float, float]:
        data = self._read()
        return data["spent"], data["reserved"]

    def _add(self, spent: float, reserved: float) -> None:
        data = self._read()
        data["spent"] += spent
        data["reserved"] = max(0.0, data["reserved"] + reserved)
        self.spent = data["spent"]
        self.path.write_text(json.dumps(data))


# -- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    """The ``model:`` section of an agent YAML."""

    name: str
    api_base: str | None = None
    api_key_env: str | None = None
    temperature: float = 0.0
    top_p: float = 0.95
    max_tokens: int = DEFAULT_MAX_TOKENS
    context_window: int | None = None
    price: Price | None = None
    retries: int = 5
    timeout: float = 600.0
    backoff: float = 1.0  # seconds before the first retry; doubles each time, with jitter
    max_backoff: float = 60.0
    # "gbnf": the server takes a GBNF grammar per request and only samples replies it accepts
    # (llama.cpp's server and llama-cpp-python's); None: replies are not constrained
    constrained_decoding: str | None = None
    small: bool = False  # a small model (about 1B parameters or fewer): agents keep prompts short

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        if not data.get("name"):
            raise ConfigError("model.name is missing; give a litellm model name such as "
                              "openai/gpt-4o (or --model), or leave it out to use the embedded model")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "price"}
        decoding = known.get("constrained_decoding")
        if decoding not in (None, *CONSTRAINED_DECODING):
            raise ConfigError(f"model.constrained_decoding is {decoding!r}; use one of "
                              f"{', '.join(CONSTRAINED_DECODING)}, or leave it out")
        price = Price(**data["price"]) if data.get("price") else None
        return cls(**known, price=price)

    @property
    def api_key(self) -> str | None:
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise ConfigError(f"model.api_key_env names {self.api_key_env!r}, which is not set; "
                                  f"export {self.api_key_env}=<your key>")
            return key
        # a local OpenAI-compatible server needs some key for the client, and no real one
        return "local" if self.api_base else None


@dataclass
class ModelReply:
    """One answer of a model: text and/or tool calls, with what it cost."""

    content: str
    tool_calls: list[dict] = field(default_factory=list)  # [{"id", "name", "arguments": dict|str}]
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    latency: float = 0.0


class TransientModelError(Exception):
    """A call failed in a way worth retrying (rate limit, timeout, server error)."""


# -- the model interface ------------------------------------------------------------------------------


class Model:
    """Base class: budgets, usage bookkeeping and retries around :meth:`_complete`."""

    def __init__(self, config: ModelConfig, budgets: list[CostBudget] | None = None):
        self.config = config
        self.budgets = list(budgets or [])
        self.calls: list[dict] = []  # one record per attempt, failed ones included
        self._usage = Usage()
        self._token_ratio = 1.0  # provider's prompt tokens / our estimate, learnt from replies

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def usage(self) -> Usage:
        return Usage(**vars(self._usage))

    @property
    def accepts_grammar(self) -> bool:
        """True when the model's server constrains replies to a GBNF grammar given per call."""
        return self.config.constrained_decoding == "gbnf"

    def query(self, messages: list[dict], tools: list[dict] | None = None,
              grammar: str | None = None) -> ModelReply:
        """Ask the model; retry transient failures with exponential backoff.

        ``grammar`` (GBNF) is sent only to a model that :attr:`accepts_grammar`; the reply is then
        one the grammar accepts. Other models ignore it.
        """
        delay = self.config.backoff
        grammar = grammar if self.accepts_grammar else None
        for attempt in range(self.config.retries + 1):
            try:
                return self._attempt(messages, tools, attempt, grammar)
            except TransientModelError as exc:
                if attempt == self.config.retries:
                    raise ModelError(f"model {self.name} still failing after {attempt + 1} "
                                     f"attempts: {exc}") from None
                time.sleep(min(delay, self.config.max_backoff) * (0.5 + random.random() / 2))
                delay *= 2
        raise AssertionError("unreachable")

    def _attempt(self, messages: list[dict], tools: list[dict] | None, attempt: int,
                 grammar: str | None = None) -> ModelReply:
        estimated_prompt = self.count_tokens(messages, tools)
        limit = self.context_window()
        if limit and estimated_prompt * self._token_ratio >= limit:
            raise ContextWindowExceeded(f"prompt of about {estimated_prompt} tokens does not fit "
                                        f"the {limit}-token context window of {self.name}")
        ceiling = self.cost(int(estimated_prompt * self._token_ratio) + 1, self.config.max_tokens)
        reserved = []
        try:
            for budget in self.budgets:
                budget.reserve(ceiling)
                reserved.append(budget)
        except CostLimitExceeded:
            for budget in reserved:
                budget.settle(ceiling, 0.0)
            raise
        record: dict[str, Any] = {"attempt": attempt, "time": time.time(), "ok": False,
                                  "input_tokens": 0, "output_tokens": 0, "cost": 0.0}
        start = time.monotonic()
        reply = None
        try:
            # passed only when there is one, so models written before grammars still work
            reply = (self._complete(messages, tools, grammar) if grammar
                     else self._complete(messages, tools))
        except Exception as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            record["latency"] = time.monotonic() - start
            actual = reply.cost if reply else 0.0
            for budget in self.budgets:
                budget.settle(ceiling, actual)
            self._account(record, reply)
        if estimated_prompt and reply.input_tokens:
            self._token_ratio = max(1.0, reply.input_tokens / estimated_prompt)
        return reply

    def _account(self, record: dict, reply: ModelReply | None) -> None:
        self._usage.calls += 1
        if reply is None:
            self._usage.failed_calls += 1
        else:
            reply.latency = record["latency"]
            record.update(ok=True, input_tokens=reply.input_tokens,
                          output_tokens=reply.output_tokens, cost=reply.cost)
            self._usage.cost += reply.cost
            self._usage.input_tokens += reply.input_tokens
            self._usage.output_tokens += reply.output_tokens
        self.calls.append(record)

    # -- what subclasses provide ----------------------------------------------------------

    def _complete(self, messages: list[dict], tools: list[dict] | None,
                  grammar: str | None = None) -> ModelReply:
        raise NotImplementedError

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        price = self.config.price
        return price.cost(input_tokens, output_tokens) if price else 0.0

    def count_tokens(self, messages: list[dict], tools: list[dict] | None = None) -> int:
        """Estimated prompt tokens: about four characters a token, plus message overhead."""
        text = json.dumps(messages) + (json.dumps(tools) if tools else "")
        return len(text) // 4 + 4 * len(messages)

    def context_window(self) -> int | None:
        return self.config.context_window

    def supports_tool_calls(self) -> bool:
        return True
