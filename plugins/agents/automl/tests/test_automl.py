"""The automl agent on real episodes: it beats the starter's setting on a task with a known
optimum, keeps to its budgets, tunes on dev under ``strict``, replays, and reports beside the
other methods."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from mlgym_agent_automl.knobs import Knob
from mlgym_agent_react.agent import ReactAgent

from mlgym.agents import Trajectory, agent_config, create_agent, run_episode
from mlgym.episode import MLGymEnv
from mlgym.errors import ConfigError
from mlgym.plugins import get_registry
from mlgym.scoring import build_report
from mlgym.testing import ScriptedModel

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TASK = "fixture-quadratic"
OPTIMUM = {"x": 1.7, "width": 6}


def episode(agent, out, task=TASK, max_steps=None, time_limit=None, protocol="mlgym", seed=0):
    env = MLGymEnv(task, backend="local", tools=list(agent.tools), max_steps=max_steps,
                   time_limit=time_limit, protocol=protocol)
    trajectory = Trajectory(task=task, agent=agent.config["agent"], model=agent.model_name,
                            seed=seed, protocol=protocol, backend="local", run_id="t",
                            agent_config=agent.config,
                            env_config={"max_steps": max_steps, "tools": list(agent.tools),
                                        "protocol": protocol},
                            out_dir=out)
    return run_episode(env, agent, trajectory, seed=seed)


def automl(**options):
    return create_agent(agent_config("automl", None, {"options": options} if options else None))


def loss(data):
    return data["submission"]["scores"]["loss"]


def test_the_search_gets_closer_to_the_optimum_than_the_default(tmp_path):
    data = episode(automl(), tmp_path)
    baseline = get_registry().task(TASK).baseline["loss"]
    assert data["exit_reason"] == "submitted"
    assert data["submission"]["ok"]
    assert loss(data) < baseline / 4
    assert len(data["steps"]) <= 14  # the task's step budget
    # the first trial is the starter's own setting, written back unchanged
    first = data["steps"][0]
    assert "x=5" in first["thought"] and "width=2" in first["thought"]
    assert first["action"].endswith("&& python3 train.py")
    assert "validate on the test split (protocol mlgym)" in first["thought"]


def test_equal_seeds_propose_equal_settings_and_other_seeds_others(tmp_path):
    actions = [[s["action"] for s in episode(automl(seed=seed), tmp_path / str(n),
                                            max_steps=8)["steps"]]
               for n, seed in enumerate((3, 3, 4))]
    assert actions[0] == actions[1]
    assert actions[0] != actions[2]


def test_without_a_seed_option_each_episode_seed_gives_its_own_search(tmp_path):
    actions = [[s["action"] for s in episode(automl(), tmp_path / str(n), max_steps=8,
                                            seed=seed)["steps"]]
               for n, seed in enumerate((3, 3, 4))]
    assert actions[0] == actions[1]
    assert actions[0] != actions[2]


def test_it_never_runs_past_the_step_budget(tmp_path):
    one = episode(automl(), tmp_path / "1", max_steps=1)  # no room to write solution.txt
    assert [s["action"] for s in one["steps"]] == ["submit"]
    for max_steps in (2, 3, 4, 5, 6):
        data = episode(automl(), tmp_path / str(max_steps), max_steps=max_steps)
        assert len(data["steps"]) <= max_steps
        assert data["exit_reason"] == "submitted", max_steps
        assert data["submission"]["ok"], max_steps
        assert data["steps"][-1]["action"] == "submit"


def test_it_stops_searching_in_time_to_submit_within_the_time_budget(tmp_path):
    data = episode(automl(), tmp_path, max_steps=200, time_limit=6)
    assert data["exit_reason"] == "submitted"
    assert data["submission"]["ok"]
    assert 4 <= len(data["steps"]) < 200  # the time budget, not the steps, ended the search


def test_it_respects_an_evaluation_budget(tmp_path):
    data = episode(automl(max_evaluations=4), tmp_path)
    assert data["exit_reason"] == "submitted"
    assert len(data["evaluations"]) <= 4
    assert [e["action"] for e in data["evaluations"]] == ["validate"] * 3 + ["submit"]


def test_under_strict_it_tunes_on_the_dev_split_only(tmp_path):
    data = episode(automl(), tmp_path, protocol="strict")
    splits = [(e["action"], e["split"]) for e in data["evaluations"]]
    assert splits[-1] == ("submit", "test")
    assert set(splits[:-1]) == {("validate", "dev")}
    assert "on the dev split (protocol strict)" in data["steps"][0]["thought"]


def test_its_trajectory_replays_to_the_same_submission(tmp_path):
    original = episode(automl(), tmp_path / "original", max_steps=9)
    replay = create_agent(agent_config("replay", None, {"options": {
        "trajectory": str(tmp_path / "original" / "trajectory.json")}}))
    again = episode(replay, tmp_path / "replay", max_steps=9)
    assert [s["action"] for s in again["steps"]] == [s["action"] for s in original["steps"]]
    assert again["exit_reason"] == "submitted"
    assert loss(again) == pytest.approx(loss(original))
    # the submission is a restored earlier trial or the last one; either way it is the best
    best = min(e["scores"]["loss"] for e in original["evaluations"] if e["action"] == "validate")
    assert loss(original) == pytest.approx(best)


def test_a_task_without_knobs_gets_its_baseline_submitted_and_says_so(tmp_path):
    data = episode(automl(commands=["python predict.py"]), tmp_path, task="fixture-threshold")
    assert [s["action"] for s in data["steps"]] == ["python predict.py", "submit"]
    assert "declares no knobs" in data["steps"][0]["thought"]
    baseline = get_registry().task("fixture-threshold").baseline
    assert data["submission"]["scores"] == pytest.approx(dict(baseline))


def test_the_report_sets_the_search_beside_the_baseline_and_an_llm(tmp_path):
    episode(automl(), tmp_path / "runs" / "automl")
    baseline = agent_config("baseline", None, {"options": {"commands": ["python3 train.py"]}})
    episode(create_agent(baseline), tmp_path / "runs" / "baseline")
    replies = ["```\nsed -i 's/X = 5.0/X = 1.5/; s/WIDTH = 2/WIDTH = 6/' config.py\n```",
               "```\npython3 train.py\n```", "```\nsubmit\n```"]
    llm = ReactAgent(agent_config("react", None, {"tools": []}), model=ScriptedModel(replies))
    llm_data = episode(llm, tmp_path / "runs" / "react")
    assert loss(llm_data) == pytest.approx(0.04)

    report = build_report([tmp_path / "runs"], tmp_path / "report", bootstrap=0)
    text = (report.out / "report.md").read_text()
    assert "## LLM gain over search" in text
    assert "automl ‡" in text and "Search reference (marked ‡): automl" in text
    assert "automl tuned on the test split (protocol mlgym" in text
    assert "![LLM gain over search](search_gain.png)" in text
    runs = text[text.index("## Runs"):]
    assert "| automl ‡ |" in runs and "| react:scripted |" in runs  # marked in the run tables
    assert (report.out / "search_gain.png").stat().st_size > 0
    with open(report.out / "search_gain.csv") as f:
        gains = {row["method"]: row for row in csv.DictReader(f)}
    assert set(gains) == {"react:scripted"}  # neither the search itself nor the baseline
    row = gains["react:scripted"]
    search = float(row["search_score"])
    # minimised loss, reference 0, baseline 12.49: a lower loss than the search's is a gain > 0
    assert float(row["gain"]) == pytest.approx((0.04 - search) / (0.0 - 12.49))
    with open(report.out / "scores.csv") as f:
        scores = {r["method"]: r for r in csv.DictReader(f)}
    assert scores["automl"]["search_reference"] == "true"
    assert scores["react:scripted"]["gain_over_search"] == row["gain"]


def test_a_knob_is_written_by_a_shell_command_the_workspace_runs(tmp_path):
    (tmp_path / "config.py").write_text("X = 5.0\nWIDTH = 2\n")
    knob = Knob.from_spec("t", {"name": "x", "file": "config.py", "pattern": r"X = ([0-9.eE+-]+)",
                                "type": "float", "low": -10, "high": 10})
    command = knob.command(0.25, python=sys.executable)
    subprocess.run(command, shell=True, cwd=tmp_path, check=True)
    assert (tmp_path / "config.py").read_text() == "X = 0.25\nWIDTH = 2\n"
    missing = Knob.from_spec("t", {"name": "y", "file": "config.py", "pattern": r"Y = (\d+)",
                                   "type": "int", "low": 1, "high": 3}).command(2, sys.executable)
    run = subprocess.run(missing, shell=True, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0 and "config.py: no match for Y = (\\d+)" in run.stderr


@pytest.mark.parametrize(("knob", "message"), [
    ({"pattern": "X = [0-9]+"}, "has 0 groups"),
    ({"low": 3, "high": 1}, "needs low < high"),
    ({"log": True, "low": 0}, "log: true needs low > 0"),
    ({"type": "choice"}, "non-empty 'choices'"),
])
def test_a_knob_that_cannot_be_searched_is_named(knob, message):
    data = {"name": "x", "file": "config.py", "pattern": "X = ([0-9]+)", "type": "float",
            "low": 0.0, "high": 1.0, **knob}
    with pytest.raises(ConfigError, match=message) as error:
        Knob.from_spec("t", data)
    assert "knob 'x'" in str(error.value)


def test_the_agent_declares_itself_the_search_reference():
    assert get_registry().get("agents", "automl").reference == "search"
    # the default config is plain data; its seed is unset, so each episode's seed is used
    assert json.loads(json.dumps(agent_config("automl")))["options"]["seed"] is None


def test_every_installed_task_declares_knobs_the_search_can_use():
    from mlgym_agent_automl.knobs import task_knobs

    registry = get_registry()
    for task_id in registry.ids("tasks"):
        task = registry.task(task_id)
        for knob in task_knobs(task):  # raises, naming the knob, when one cannot be searched
            assert knob.current(task.starter_dir) is not None, (
                f"{task_id}: knob {knob.name!r} finds no value inside its range in "
                f"{knob.file} of the starter code")
