"""The react agent through litellm over real HTTP, against a local OpenAI-compatible provider."""

from __future__ import annotations

import json

import pytest
from episodes import SOLVE, react_config, run_fixture_episode
from fake_provider import Answer, error, reply, tool_call

from mlgym.agents import trajectory as trajectories

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
PRICE = {"input_per_mtok": 1.0, "output_per_mtok": 2.0}


def http_config(provider, **overrides) -> dict:
    model = {"name": f"openai/{provider.model}", "api_base": provider.api_base,
             "price": PRICE, "backoff": 0.01, **overrides.pop("model", {})}
    return react_config(model=model, **overrides)


def test_requests_follow_the_chat_completions_protocol(provider, tmp_path):
    provider.script(*(reply(text, usage=(1000, 100)) for text in SOLVE))
    data = run_fixture_episode(http_config(provider), tmp_path / "out")
    assert data["exit_reason"] == "submitted"
    assert len(provider.requests) == 4
    first, last = provider.requests[0], provider.requests[-1]
    assert first["model"] == "fake-model"
    assert first["temperature"] == 0 and first["top_p"] == 0.95
    assert first["max_tokens"] == 4096
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert "exactly one command in a fenced code block" in first["messages"][0]["content"]
    assert "predict.py" in first["messages"][1]["content"]  # the task prompt
    assert "(Step 1 of 30)" in first["messages"][1]["content"]
    assert [m["role"] for m in last["messages"]] == ["system", "user"] + ["assistant", "user"] * 3
    assert "wrote 60 predictions" in last["messages"][5]["content"]
    assert all("mlgym" not in m for m in last["messages"])  # private bookkeeping stays home
    assert provider.headers[0]["authorization"] == "Bearer local"


def test_usage_is_turned_into_cost_with_the_price_table(provider, tmp_path):
    provider.script(*(reply(text, usage=(1000, 100)) for text in SOLVE))
    data = run_fixture_episode(http_config(provider), tmp_path / "out")
    assert [s["tokens"] for s in data["steps"]] == [{"input": 1000, "output": 100}] * 4
    assert [s["cost"] for s in data["steps"]] == pytest.approx([0.0012] * 4)
    assert data["totals"]["cost"] == pytest.approx(0.0048)
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["cost"] == pytest.approx(0.0048)
    assert result["tokens"] == {"input": 4000, "output": 400}


def test_cost_limit_stops_the_episode_exactly(provider, tmp_path):
    provider.fallback = reply(SOLVE[0], usage=(1000, 100))
    config = http_config(provider, model={"max_tokens": 100}, cost_limit=0.005)
    data = run_fixture_episode(config, tmp_path / "out")
    assert data["exit_reason"] == "cost_limit"
    assert len(provider.requests) == 4  # the fifth call could cost more than the $0.0002 left
    assert data["totals"]["cost"] == pytest.approx(0.0048)
    trajectories.load(tmp_path / "out")


def test_rate_limits_and_server_errors_are_retried(provider, tmp_path):
    provider.script(error(429), error(500), Answer(raw_body=b"<html>bad gateway</html>"),
                    *(reply(text) for text in SOLVE))
    data = run_fixture_episode(http_config(provider), tmp_path / "out")
    assert data["exit_reason"] == "submitted"
    assert len(provider.requests) == 7
    calls = data["steps"][0]["model_calls"]
    assert [c["ok"] for c in calls] == [False, False, False, True]
    assert "RateLimitError" in calls[0]["error"]
    assert data["totals"]["failed_calls"] == 3


def test_retries_give_up_after_the_configured_number(provider, tmp_path):
    provider.fallback = error(503)
    data = run_fixture_episode(http_config(provider, model={"retries": 2}), tmp_path / "out")
    assert data["exit_reason"] == "error"
    assert len(provider.requests) == 3
    assert "still failing after 3 attempts" in data["error"]


def test_garbage_replies_take_the_format_error_path(provider, tmp_path):
    provider.script(reply(SOLVE[0]), reply("Sure! Here is my plan, no command."),
                    reply("```\nls\n```\n```\npwd\n```"), reply("```bash\nls"))
    data = run_fixture_episode(http_config(provider, format_retries=2), tmp_path / "out")
    assert data["exit_reason"] == "format_error"
    assert len(provider.requests) == 4
    retry = provider.requests[-1]["messages"]
    assert retry[-2] == {"role": "assistant", "content": "```\nls\n```\n```\npwd\n```"}
    assert "2 code blocks" in retry[-1]["content"]


def test_context_overflow_from_the_provider_shortens_the_history(provider, tmp_path):
    overflow = error(400, "This model's maximum context length is 8192 tokens. However, your "
                          "messages resulted in 9000 tokens.", code="context_length_exceeded")
    provider.script(reply(SOLVE[0]), reply(SOLVE[1]), overflow, reply(SOLVE[2]), reply(SOLVE[3]))
    data = run_fixture_episode(http_config(provider, history={"full_observations": 5}),
                               tmp_path / "out")
    assert data["exit_reason"] == "submitted"
    retried = provider.requests[3]["messages"]
    assert retried[3]["content"].startswith("Old output omitted")


def test_native_tool_calling_over_http(provider, tmp_path):
    provider.script(tool_call("bash", {"command": "python predict.py"}, content="Run it."),
                    tool_call("open", {"path": "predict.py", "line_number": 3}),
                    tool_call("submit", {}))
    config = http_config(provider, mode="tool_calls", tools=["files"])
    data = run_fixture_episode(config, tmp_path / "out")
    assert [s["action"] for s in data["steps"]] == ["python predict.py", "open predict.py 3",
                                                    "submit"]
    assert data["exit_reason"] == "submitted"
    tools = {t["function"]["name"]: t["function"] for t in provider.requests[0]["tools"]}
    assert {"bash", "open", "edit", "validate", "submit"} <= set(tools)
    assert tools["open"]["parameters"]["required"] == ["path"]
    messages = provider.requests[1]["messages"]
    assert messages[-2]["tool_calls"][0]["function"]["name"] == "bash"
    assert messages[-1]["role"] == "tool"
    assert messages[-1]["tool_call_id"] == messages[-2]["tool_calls"][0]["id"]
    assert "wrote 60 predictions" in messages[-1]["content"]
