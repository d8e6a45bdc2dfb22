"""The models an agent's YAML names: any provider litellm supports, or scripted replies.

:func:`make_model` reads the ``model:`` section: ``scripted:<file>`` gives a
:class:`~mlgym.agents.scripted.ScriptedModel`, any other name a :class:`LiteLLMModel`
(``api_base`` reaches local OpenAI-compatible servers such as the embedded model).

litellm is imported on first use (it takes seconds) and never fetches its price table
(``LITELLM_LOCAL_MODEL_COST_MAP``).
"""

from __future__ import annotations

import os
from typing import Any

from mlgym.agents.base import ContextWindowExceeded, ModelError
from mlgym.agents.models import CostBudget, Model, ModelConfig, ModelReply, TransientModelError

# Statuses worth another try: rate limits, timeouts and server-side failures.
RETRY_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


def _litellm():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


class LiteLLMModel(Model):
    """Any provider litellm supports; ``api_base`` reaches local OpenAI-compatible servers."""

    def __init__(self, config: ModelConfig, budgets: list[CostBudget] | None = None):
        super().__init__(config, budgets)
        self._lib = _litellm()
        self._priced_by_litellm = config.price is None and self._litellm_knows_price()

    def _litellm_knows_price(self) -> bool:
        try:
            self._lib.cost_per_token(model=self.name, prompt_tokens=1, completion_tokens=1)
            return True
        except Exception:
            return False

    @property
    def price_known(self) -> bool:
        return self.config.price is not None or self._priced_by_litellm

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        if self._priced_by_litellm:
            prompt, completion = self._lib.cost_per_token(
                model=self.name, prompt_tokens=input_tokens, completion_tokens=output_tokens)
            return float(prompt + completion)
        return super().cost(input_tokens, output_tokens)

    def count_tokens(self, messages: list[dict], tools: list[dict] | None = None) -> int:
        try:
            return int(self._lib.token_counter(model=self.name, messages=messages, tools=tools))
        except Exception:
            return super().count_tokens(messages, tools)

    def context_window(self) -> int | None:
        if self.config.context_window:
            return self.config.context_window
        try:
            info = self._lib.get_model_info(self.name)
            return info.get("max_input_tokens") or info.get("max_tokens")
        except Exception:
            return None

    def supports_tool_calls(self) -> bool:
        if self.config.api_base:
            return True  # a custom server: the user chose the mode, trust it
        try:
            return bool(self._lib.supports_function_calling(self.name))
        except Exception:
            return False

    def _complete(self, messages: list[dict], tools: list[dict] | None,
                  grammar: str | None = None) -> ModelReply:
        lib = self._lib
        kwargs: dict[str, Any] = dict(
            model=self.name, messages=messages, temperature=self.config.temperature,
            top_p=self.config.top_p, max_tokens=self.config.max_tokens,
            timeout=self.config.timeout, num_retries=0, max_retries=0, drop_params=True)
        if self.config.api_base:
            kwargs["api_base"] = self.config.api_base
        if self.config.api_key:
            kwargs["api_key"] = self.config.api_key
        if tools:
            kwargs["tools"] = tools
        if grammar:  # llama.cpp's servers read it from the request body
            kwargs["extra_body"] = {"grammar": grammar}
        try:
            response = lib.completion(**kwargs)
        except lib.ContextWindowExceededError as exc:
            raise ContextWindowExceeded(f"{self.name}: {exc}") from None
        except (lib.RateLimitError, lib.Timeout, lib.APIConnectionError,
                lib.InternalServerError, lib.ServiceUnavailableError) as exc:
            raise TransientModelError(f"{type(exc).__name__}: {exc}") from None
        except lib.APIError as exc:
            if getattr(exc, "status_code", None) in RETRY_STATUSES:
                raise TransientModelError(f"{type(exc).__name__}: {exc}") from None
            raise ModelError(f"{self.name} refused the request: {exc}") from None
        except Exception as exc:  # authentication, bad request, unknown provider...
            raise ModelError(f"{self.name}: {type(exc).__name__}: {exc}") from None
        return self._reply(response)

    def _reply(self, response: Any) -> ModelReply:
        usage = getattr(response, "usage", None)
        input_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        output_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        try:
            message = response.choices[0].message
        except (AttributeError, IndexError):
            message = None
        calls = []
        for call in (getattr(message, "tool_calls", None) or []):
            calls.append({"id": call.id, "name": call.function.name,
                          "arguments": call.function.arguments})
        return ModelReply(content=(getattr(message, "content", None) or ""), tool_calls=calls,
                          input_tokens=input_tokens, output_tokens=output_tokens,
                          cost=self.cost(input_tokens, output_tokens))


def make_model(config: dict, budgets: list[CostBudget] | None = None) -> Model:
    """The model named by an agent YAML's ``model:`` section.

    ``scripted:<file>`` gives a :class:`~mlgym.agents.scripted.ScriptedModel` reading its replies
    from a YAML list; any other name goes to litellm.
    """
    model_config = ModelConfig.from_dict(config)
    if model_config.name.startswith("scripted:"):
        from mlgym.agents.scripted import ScriptedModel

        return ScriptedModel.from_file(model_config.name.removeprefix("scripted:"),
                                       config=model_config, budgets=budgets)
    return LiteLLMModel(model_config, budgets)
