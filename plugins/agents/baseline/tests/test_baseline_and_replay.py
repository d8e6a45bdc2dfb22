"""The reference agents on real episodes: baseline reproduces the baseline row, replay repeats."""

from __future__ import annotations

import pytest
from mlgym_agent_react.agent import ReactAgent

from mlgym.agents import Trajectory, agent_config, create_agent, run_episode
from mlgym.episode import MLGymEnv
from mlgym.errors import ConfigError
from mlgym.plugins import get_registry
from mlgym.testing import ScriptedModel

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def episode(agent, out, task="fixture-threshold", max_steps=10):
    env = MLGymEnv(task, backend="local", tools=list(agent.tools), max_steps=max_steps)
    trajectory = Trajectory(task=task, agent=agent.config["agent"], model=agent.model_name,
                            seed=0, protocol="mlgym", backend="local", run_id="t",
                            agent_config=agent.config,
                            env_config={"max_steps": max_steps, "tools": list(agent.tools)},
                            out_dir=out)
    return run_episode(env, agent, trajectory, seed=0)


def test_baseline_reproduces_the_baseline_scores(tmp_path):
    agent = create_agent(agent_config("baseline", None,
                                      {"options": {"commands": ["python predict.py"]}}))
    data = episode(agent, tmp_path)
    assert data["exit_reason"] == "submitted"
    assert data["method"] == "baseline"
    task = get_registry().task("fixture-threshold")
    assert data["submission"]["scores"] == pytest.approx(dict(task.baseline))


def test_baseline_stops_when_the_starter_code_is_no_submission(tmp_path):
    data = episode(create_agent(agent_config("baseline")), tmp_path)
    assert data["exit_reason"] == "error"
    assert len(data["steps"]) == 1
    assert "options.commands" in data["error"]


def test_baseline_runs_the_tasks_training_commands_before_it_submits(tmp_path):
    task = get_registry().task("house-price")
    assert task.training_commands == ("python baseline.py",)
    data = episode(create_agent(agent_config("baseline")), tmp_path, task="house-price")
    assert [step["action"] for step in data["steps"]] == ["python baseline.py", "submit"]
    assert data["exit_reason"] == "submitted"
    assert data["submission"]["scores"]["r2"] == pytest.approx(task.baseline["r2"], abs=1e-3)


@pytest.mark.skipif("prisoners-dilemma" not in get_registry().ids("tasks"),
                    reason="mlgym-task-prisoners-dilemma not installed")
def test_baseline_on_a_task_whose_starter_code_is_the_submission(tmp_path):
    data = episode(create_agent(agent_config("baseline")), tmp_path, task="prisoners-dilemma")
    assert data["exit_reason"] == "submitted"
    baseline = get_registry().task("prisoners-dilemma").baseline["score"]
    assert data["submission"]["scores"]["score"] == pytest.approx(baseline, abs=1e-4)


def react_episode(replies, out):
    config = agent_config("react", None, {"tools": []})
    return episode(ReactAgent(config, model=ScriptedModel(replies)), out)


def test_replay_repeats_the_actions_and_the_scores(tmp_path):
    original = react_episode(["```\nsed -i s/50/45/ predict.py\n```", "```\npython predict.py\n```",
                              "```\nvalidate\n```", "```\nsubmit\n```"], tmp_path / "original")
    replay = create_agent(agent_config("replay", None, {"options": {
        "trajectory": str(tmp_path / "original" / "trajectory.json")}}))
    again = episode(replay, tmp_path / "replay")
    assert [s["action"] for s in again["steps"]] == [s["action"] for s in original["steps"]]
    assert again["evaluations"][-1]["scores"] == original["evaluations"][-1]["scores"]
    assert again["exit_reason"] == "submitted"
    assert again["submission"]["scores"] != {"accuracy": 0.925, "errors": 3.0}  # the edit counted


def test_replay_ends_the_way_the_original_did(tmp_path):
    react_episode(["```\nls\n```"] + ["no command"] * 4, tmp_path / "original")
    replay = create_agent(agent_config("replay", None, {"options": {
        "trajectory": str(tmp_path / "original")}}))
    again = episode(replay, tmp_path / "replay")
    assert [s["action"] for s in again["steps"]] == ["ls"]
    assert again["exit_reason"] == "format_error"


def test_replay_needs_a_trajectory():
    with pytest.raises(ConfigError, match="options.trajectory"):
        create_agent(agent_config("replay"))
