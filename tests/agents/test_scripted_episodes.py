"""Full episodes of the react agent driven by the scripted model, on the fixture task."""

from __future__ import annotations

import json
from dataclasses import replace

import gymnasium
import pytest
from episodes import SOLVE, react_config, run_fixture_episode, scripted_config
from mlgym_agent_react.agent import ReactAgent

from mlgym.agents import CostBudget, CostLimitExceeded, Price, Trajectory, run_episode
from mlgym.agents import trajectory as trajectories
from mlgym.episode import MLGymEnv
from mlgym.testing import ScriptedModel

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_submit_episode_is_scored_and_recorded(tmp_path):
    data = run_fixture_episode(scripted_config(tmp_path, SOLVE), tmp_path / "out")
    assert data["exit_reason"] == "submitted"
    assert [s["action"] for s in data["steps"]] == ["ls", "python predict.py", "validate", "submit"]
    assert [(e["action"], e["split"]) for e in data["evaluations"]] == [("validate", "test"),
                                                                       ("submit", "test")]
    assert data["submission"]["scores"]["accuracy"] == pytest.approx(0.925)
    assert "predict.py" in data["steps"][0]["observation"]
    assert data["steps"][1]["thought"] == "I run the starter code to produce predictions."
    assert data["steps"][2]["scores"]["accuracy"] == pytest.approx(0.925)
    assert all(s["tokens"]["input"] > 0 and len(s["model_calls"]) == 1 for s in data["steps"])
    on_disk = trajectories.load(tmp_path / "out")  # validates against the schema
    assert on_disk["steps"] == data["steps"]
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    trajectories.validate(result, "result", "result.json")
    assert result["method"].startswith("react:scripted:")
    assert result["action_kinds"] == ["view", "python", "validate", "submit"]


def test_strict_protocol_validates_on_dev_and_submits_on_test(tmp_path):
    data = run_fixture_episode(scripted_config(tmp_path, SOLVE), tmp_path / "out",
                               protocol="strict")
    assert [(e["action"], e["split"]) for e in data["evaluations"]] == [("validate", "dev"),
                                                                       ("submit", "test")]


def test_malformed_replies_are_answered_and_retried(tmp_path):
    replies = [SOLVE[0], "I will just think for now.", "```python\nprint(1)\n```", *SOLVE[1:]]
    agent = ReactAgent(react_config(), model=ScriptedModel(replies))
    data = run_fixture_episode(agent, tmp_path / "out")
    assert data["exit_reason"] == "submitted"
    step = data["steps"][1]
    assert [e["reply"] for e in step["format_errors"]] == replies[1:3]
    assert "no command" in step["format_errors"][0]["error"]
    assert "marked 'python'" in step["format_errors"][1]["error"]
    assert len(step["model_calls"]) == 3
    # the model was shown why its reply was refused, and the refused turns are not kept
    retry_prompt = agent.model.prompts[3]
    assert "marked 'python'" in retry_prompt[-1]["content"]
    assert "I will just think for now." not in json.dumps(agent.model.prompts[-1])


def test_too_many_malformed_replies_end_the_episode(tmp_path):
    replies = [SOLVE[0]] + ["no command here"] * 3
    data = run_fixture_episode(scripted_config(tmp_path, replies, format_retries=2),
                               tmp_path / "out")
    assert data["exit_reason"] == "format_error"
    assert len(data["steps"]) == 1
    assert data["totals"]["model_calls"] == 4  # the three refused replies count too


def test_cost_limit_refuses_the_call_that_could_exceed_it(tmp_path):
    # 1000 + 100 tokens at $1/$2 per million: $0.0012 a call; max_tokens 100 bounds the estimate
    replies = [{"content": SOLVE[0], "usage": [1000, 100]}] * 10
    config = scripted_config(tmp_path, replies, price={"input_per_mtok": 1, "output_per_mtok": 2},
                             cost_limit=0.005)
    config["model"]["max_tokens"] = 100
    data = run_fixture_episode(config, tmp_path / "out")
    assert data["exit_reason"] == "cost_limit"
    assert data["totals"]["model_calls"] == 4  # a fifth call could have cost more than $0.0002
    assert data["totals"]["cost"] == pytest.approx(0.0048)
    assert data["totals"]["cost"] <= 0.005
    assert [s["cost"] for s in data["steps"]] == pytest.approx([0.0012] * 4)


def test_step_limit_truncates_and_auto_submits(tmp_path):
    data = run_fixture_episode(scripted_config(tmp_path, [SOLVE[1]] + [SOLVE[0]] * 5, max_steps=3),
                               tmp_path / "out")
    assert data["exit_reason"] == "max_steps"
    assert len(data["steps"]) == 3 and data["steps"][-1]["truncated"]
    assert data["submission"]["action"] == "auto_submit"
    assert data["submission"]["scores"]["accuracy"] == pytest.approx(0.925)


def test_old_observations_are_elided_with_their_line_count(tmp_path):
    replies = [f"Step {i}.\n```\nseq 1 {i + 1}\n```" for i in range(7)] + SOLVE[1:2] + SOLVE[3:]
    agent = ReactAgent(react_config(), model=ScriptedModel(replies))
    run_fixture_episode(agent, tmp_path / "out")
    last = agent.model.prompts[7]  # after seven observations
    observations = [m["content"] for m in last if m["role"] == "user"][1:]  # after the task
    assert len(observations) == 7
    assert observations[0] == "Old output omitted (1 line)."
    assert observations[1] == "Old output omitted (2 lines)."
    assert observations[2].startswith("1\n2\n3\n")  # the last five are whole
    assert all("Old output omitted" not in o for o in observations[2:])


def test_transient_failures_are_retried(tmp_path):
    replies = [{"error": "rate_limit"}, {"error": "server_error"}, *SOLVE]
    data = run_fixture_episode(scripted_config(tmp_path, replies), tmp_path / "out")
    assert data["exit_reason"] == "submitted"
    calls = data["steps"][0]["model_calls"]
    assert [c["ok"] for c in calls] == [False, False, True]
    assert data["totals"]["failed_calls"] == 2


def test_context_window_overflow_shortens_history_then_ends(tmp_path):
    replies = [*SOLVE[:2], {"error": "context_window"}, *SOLVE[2:]]
    data = run_fixture_episode(scripted_config(tmp_path, replies), tmp_path / "out")
    assert data["exit_reason"] == "submitted"  # shortened and went on
    replies = [SOLVE[0]] + [{"error": "context_window"}] * 5
    data = run_fixture_episode(scripted_config(tmp_path, replies), tmp_path / "out2")
    assert data["exit_reason"] == "context_window"


def test_a_model_that_fails_for_good_ends_the_episode_with_error(tmp_path):
    data = run_fixture_episode(scripted_config(tmp_path, [SOLVE[0], {"error": "fatal"}]),
                               tmp_path / "out")
    assert data["exit_reason"] == "error"
    assert "scripted fatal error" in data["error"]
    trajectories.load(tmp_path / "out")


def test_ctrl_c_saves_the_partial_trajectory_and_closes_the_sandbox(tmp_path):
    def interrupt(messages):
        raise KeyboardInterrupt

    agent = ReactAgent(react_config(), model=ScriptedModel([*SOLVE[:2], interrupt]))
    env = MLGymEnv("fixture-threshold", backend="local", tools=[])
    trajectory = Trajectory(task="fixture-threshold", agent="react", model="scripted", seed=0,
                            protocol="mlgym", backend="local", run_id="t", agent_config={},
                            env_config={}, out_dir=tmp_path / "out")
    run_episode(env, agent, trajectory, seed=0)
    saved = trajectories.load(tmp_path / "out")
    assert saved["exit_reason"] == "interrupted"
    assert [s["action"] for s in saved["steps"]] == ["ls", "python predict.py"]
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step("ls")  # the sandbox is gone


def test_native_tool_calls_become_commands(tmp_path):
    replies = [
        {"content": "Run the starter.", "tool_calls": [{"name": "bash", "arguments":
                                                        {"command": "python predict.py"}}]},
        {"tool_calls": [{"name": "validate", "arguments": {}}]},
        {"tool_calls": [{"name": "nonexistent", "arguments": {}}]},
        {"tool_calls": [{"name": "submit", "arguments": "{}"}]},
    ]
    config = react_config(mode="tool_calls", tools=["files"])
    agent = ReactAgent(config, model=ScriptedModel(replies))
    data = run_fixture_episode(agent, tmp_path / "out")
    assert [s["action"] for s in data["steps"]] == ["python predict.py", "validate", "submit"]
    assert "there is no tool 'nonexistent'" in data["steps"][2]["format_errors"][0]["error"]
    second = agent.model.prompts[1]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "bash"
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"]
    assert "wrote 60 predictions" in second[-1]["content"]


def test_budget_allows_calls_up_to_the_limit_and_not_one_more():
    # each reply costs exactly $0.25 (one output token at $250,000 per million); max_tokens 1
    budget = CostBudget(2.5)
    model = ScriptedModel([{"content": "x", "usage": [50, 1]}] * 20, price=Price(0, 250_000),
                          budgets=[budget])
    model.config = replace(model.config, max_tokens=1)
    for _ in range(10):
        model.query([{"role": "user", "content": "hi"}])
    with pytest.raises(CostLimitExceeded):
        model.query([{"role": "user", "content": "hi"}])
    assert budget.spent == 2.5
    assert model.usage.calls == 10


def test_an_agent_that_stops_has_its_workspace_auto_submitted(tmp_path):
    replies = [SOLVE[1]] + ["no command"] * 4
    data = run_fixture_episode(scripted_config(tmp_path, replies), tmp_path / "out")
    assert data["exit_reason"] == "format_error"
    assert data["submission"]["action"] == "auto_submit"
    assert data["submission"]["scores"]["accuracy"] == pytest.approx(0.925)
    assert len(data["final_turn"]["format_errors"]) == 4
