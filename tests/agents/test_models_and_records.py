"""Budgets, model configuration, and the trajectory and result files' schemas."""

from __future__ import annotations

import json
import multiprocessing

import pytest
from episodes import SOLVE, run_fixture_episode, scripted_config

from mlgym.agents import CostLimitExceeded, LedgerBudget, ModelConfig, make_model
from mlgym.agents import trajectory as trajectories
from mlgym.errors import ConfigError
from mlgym.scoring import ResultRecord
from mlgym.testing import ScriptedModel


def _spend(path: str, calls: int) -> None:
    budget = LedgerBudget(path, limit=None)
    for _ in range(calls):
        budget.reserve(0.5)
        budget.settle(0.5, 0.25)


def test_a_run_budget_is_shared_by_processes(tmp_path):
    ledger = str(tmp_path / "run-cost.json")
    workers = [multiprocessing.Process(target=_spend, args=(ledger, 20)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert json.loads((tmp_path / "run-cost.json").read_text()) == {"spent": 20.0, "reserved": 0.0}
    run = LedgerBudget(ledger, limit=20.5)
    with pytest.raises(CostLimitExceeded, match=r"run cost limit \$20.5000 reached"):
        run.reserve(0.75)
    run.reserve(0.5)  # what is left still fits


def test_the_run_budget_stops_a_second_episode(tmp_path):
    ledger = str(tmp_path / "ledger.json")
    reply = {"content": SOLVE[0], "usage": [1000, 100]}
    price = {"input_per_mtok": 1, "output_per_mtok": 2}
    for name in ("first", "second"):
        config = scripted_config(tmp_path / name, [reply] * 10, price=price, max_steps=3,
                                 cost_limit=1.0, run_cost_limit=0.0055, run_cost_ledger=ledger)
        config["model"]["max_tokens"] = 100
        data = run_fixture_episode(config, tmp_path / name / "out")
    # each call costs $0.0012; the first episode made 3 (its step limit), leaving $0.0019 of the
    # run's $0.0055: room for one more call, not two
    assert data["exit_reason"] == "cost_limit"
    assert data["totals"]["model_calls"] == 1
    assert json.loads((tmp_path / "ledger.json").read_text())["spent"] == pytest.approx(0.0048)


def test_model_config_mistakes_name_the_fix(monkeypatch):
    with pytest.raises(ConfigError, match="model.name is missing"):
        ModelConfig.from_dict({"temperature": 0})
    monkeypatch.delenv("MY_KEY", raising=False)
    config = ModelConfig.from_dict({"name": "openai/x", "api_key_env": "MY_KEY"})
    with pytest.raises(ConfigError, match="export MY_KEY="):
        _ = config.api_key


def test_scripted_model_reads_its_replies_from_yaml(tmp_path):
    (tmp_path / "r.yaml").write_text("- hello\n- {content: bye, usage: [3, 4]}\n")
    model = make_model({"name": f"scripted:{tmp_path / 'r.yaml'}"})
    assert isinstance(model, ScriptedModel)
    assert model.query([{"role": "user", "content": "x"}]).content == "hello"
    second = model.query([{"role": "user", "content": "x"}])
    assert (second.content, second.input_tokens, second.output_tokens) == ("bye", 3, 4)
    (tmp_path / "bad.yaml").write_text("- {content: x, eror: 1}\n")
    with pytest.raises(ConfigError, match="unknown keys \\['eror'\\]"):
        make_model({"name": f"scripted:{tmp_path / 'bad.yaml'}"})


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_trajectory_and_result_follow_their_schemas(tmp_path):
    data = run_fixture_episode(scripted_config(tmp_path, SOLVE), tmp_path / "out")
    trajectories.validate(data, "trajectory")
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    trajectories.validate(result, "result")
    record = ResultRecord.from_dict(result)  # what metric plugins read
    assert (record.task, record.exit_reason, record.steps) == ("fixture-threshold", "submitted", 4)
    assert record.submission.scores["accuracy"] == pytest.approx(0.925)
    assert data["versions"]["distributions"]["mlgym-agent-react"]
    assert data["config"]["agent"]["model"]["name"].startswith("scripted:")

    broken = json.loads(json.dumps(data))
    del broken["exit_reason"]
    broken["steps"][0]["tokens"] = {"input": -1, "output": 0}
    with pytest.raises(ConfigError) as caught:
        trajectories.validate(broken, "trajectory", "t.json")
    message = str(caught.value)
    assert "missing required key 'exit_reason'" in message
    assert "steps[0].tokens.input" in message


def test_api_keys_are_never_written(tmp_path):
    trajectory = trajectories.Trajectory(
        task="t", agent="react", model="m", seed=0, protocol="mlgym", backend="local",
        run_id="r", agent_config={"agent": "react", "model": {"name": "m", "api_key": "sk-123",
                                                              "api_key_env": "KEY"}},
        env_config={}, out_dir=tmp_path)
    trajectory.start("task")
    text = (tmp_path / "trajectory.json").read_text()
    assert "sk-123" not in text and '"api_key_env": "KEY"' in text


def test_loading_something_else_is_refused(tmp_path):
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(ConfigError, match="not an MLGym trajectory"):
        trajectories.load(tmp_path / "x.json")
    with pytest.raises(ConfigError, match="no such trajectory file"):
        trajectories.load(tmp_path / "missing.json")
