"""Step, time and cost budgets: truncation, automatic submission, exit reasons."""

from __future__ import annotations

import pytest

from mlgym.errors import ConfigError


def test_step_budget_truncates_and_auto_submits(backend, make_env):
    env = make_env(backend=backend, max_steps=3)
    _, info = env.reset()
    assert info["budgets"]["steps_left"] == 3
    obs, reward, terminated, truncated, info = env.step("python3 predict.py")
    assert not truncated and info["budgets"]["steps_left"] == 2
    env.step("sed -i 's/^THRESHOLD = .*/THRESHOLD = 38/' predict.py && python3 predict.py")
    obs, reward, terminated, truncated, info = env.step("echo last")
    assert truncated and not terminated and info["exit_reason"] == "max_steps"
    assert obs.startswith("last\n\nAutomatic submission")
    assert info["evaluation"]["action"] == "auto_submit"
    assert info["scores"] == {"accuracy": 0.975, "errors": 1.0}
    assert reward == pytest.approx(0.05 / 0.925)
    record = env.result_record()
    assert record["submission"]["action"] == "auto_submit"
    assert record["exit_reason"] == "max_steps" and record["steps"] == 3


def test_submit_on_the_last_step_terminates(make_env):
    env = make_env(backend="local", max_steps=2)
    env.reset()
    env.step("python3 predict.py")
    obs, reward, terminated, truncated, info = env.step("submit")
    assert terminated and not truncated and info["exit_reason"] == "submitted"
    assert [e["action"] for e in info["evaluations"]] == ["submit"]


def test_auto_submit_of_an_empty_workspace_is_a_failed_evaluation(make_env):
    env = make_env(backend="local", max_steps=1)
    env.reset()
    obs, reward, terminated, truncated, info = env.step("ls")
    assert truncated and info["evaluation"]["ok"] is False
    assert "predictions.csv not found" in obs
    assert env.result_record()["submission"]["ok"] is False


def test_time_budget_stops_a_long_command(backend, make_env):
    # the sleep would outlast the 15 s budget and the task's 120 s limit of a `long` command
    env = make_env(backend=backend, time_limit=15)
    env.reset()
    assert not env.step("python3 predict.py")[3]
    obs, reward, terminated, truncated, info = env.step("long sleep 900")
    assert truncated and info["exit_reason"] == "time_limit" and info["timed_out"]
    assert info["evaluation"]["action"] == "auto_submit"
    assert info["scores"]["accuracy"] == 0.925


def test_cost_budget(make_env):
    env = make_env(backend="local", cost_limit=0.5)
    env.reset()
    env.add_cost(0.3, input_tokens=1000, output_tokens=50)
    *_, truncated, info = env.step("python3 predict.py")
    assert not truncated and info["cost"] == pytest.approx(0.3)
    assert info["budgets"]["cost_left"] == pytest.approx(0.2)
    env.add_cost(0.25)
    obs, reward, terminated, truncated, info = env.step("touch ran.txt")
    assert truncated and info["exit_reason"] == "cost_limit"
    assert obs.startswith("The action was not run: the cost limit was reached")
    assert not (env._workspace.workspace / "ran.txt").exists()
    assert info["evaluation"]["action"] == "auto_submit" and info["scores"]["accuracy"] == 0.925
    record = env.result_record()
    assert record["cost"] == pytest.approx(0.55)
    assert record["tokens"] == {"input": 1000, "output": 50}
    with pytest.raises(ConfigError, match="add_cost"):
        env.add_cost(-1)
    with pytest.raises(ConfigError, match="add_cost"):
        env.add_cost(float("nan"))


def test_reset_starts_budgets_again(make_env):
    env = make_env(backend="local", max_steps=1, cost_limit=1.0)
    env.reset()
    env.add_cost(2.0)
    assert env.step("ls")[3] is True
    _, info = env.reset()
    assert info["cost"] == 0.0 and info["budgets"]["steps_left"] == 1 and not info["evaluations"]
    assert env.step("python3 predict.py")[4]["exit_reason"] == "max_steps"


def test_an_agent_that_stops_gets_its_workspace_auto_submitted(make_env):
    env = make_env(backend="local")
    env.reset()
    env.step("python3 predict.py")
    obs, info = env.end_episode("format_error")
    assert "Automatic submission" in obs and info["exit_reason"] == "format_error"
    assert info["evaluation"]["action"] == "auto_submit" and info["scores"]["accuracy"] == 0.925
    assert env.result_record()["exit_reason"] == "format_error"
    assert "episode is over (format_error)" in env.step("ls")[0]
    with pytest.raises(ConfigError, match="end_episode"):
        env.end_episode("bored")
