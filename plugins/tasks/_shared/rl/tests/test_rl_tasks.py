"""The three RL tasks: their packages, the referee's rules and checks, and a short training run.

The referee is exercised two ways: whole evaluations through ``mlgym.testing.run_evaluator``
(the evaluator as a subprocess, its player a plain subprocess of it), and, for its many checks,
``rl_referee.evaluate`` imported from a task's evaluator folder with few environments per seed
(each call still starts a real player process that imports the workspace's networks.py).
"""

from __future__ import annotations

import functools
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlgym.plugins import get_registry
from mlgym.testing import check_task_env, evaluator_module, run_evaluator

SHARED = Path(__file__).resolve().parents[1]
TASKS = {"rl-meta-maze": "MetaMaze-misc",
         "rl-mountain-car-continuous": "MountainCarContinuous-v0",
         "rl-breakout-minatar": "Breakout-MinAtar"}


def task(task_id: str):
    return get_registry().task(task_id)


@functools.cache  # one import per task, so its exception classes stay the same objects
def referee(task_id: str):
    return evaluator_module(task_id, "rl_referee")


# -- policies as an agent would write them: networks.py with load_policy -------------------------

POLICY = '''
import numpy as np

def load_policy(checkpoint, config, env_info):
    with open(checkpoint) as f:
        f.read()
{body}
'''


def workspace(folder: Path, body: str, checkpoints: int = 5) -> Path:
    """A submission whose networks.py returns ``policy`` defined by ``body`` (indented code)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text("network: {}\n")
    (folder / "networks.py").write_text(POLICY.format(body=body))
    (folder / "checkpoints").mkdir(exist_ok=True)
    for k in range(checkpoints):
        (folder / "checkpoints" / f"seed-{k}.txt").write_text(f"checkpoint {k}\n")
    return folder


def constant(value: str) -> str:
    """A policy returning ``value`` (an expression of ``obs``) for every batch."""
    return f"    return lambda obs, key: {value}\n"


RANDOM = '''    rng = np.random.default_rng(0)
    def policy(obs, key):
        if env_info["action_kind"] == "discrete":
            return rng.integers(0, env_info["num_actions"], len(obs))
        return rng.uniform(-1, 1, (len(obs), *env_info["action_shape"])).astype(np.float32)
    return policy
'''


def rollout(task_id: str, folder: Path, environments: int = 2, split: str = "dev") -> dict:
    """The metrics of ``rl_referee.evaluate`` on ``folder`` (the player finds the workspace as
    under MLGym, through ``MLGYM_WORKSPACE``)."""
    module = referee(task_id)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLGYM_WORKSPACE", str(folder))
        return module.evaluate(TASKS[task_id], folder, seeds(task_id, split), 0, environments)


def seeds(task_id: str, split: str) -> list[int]:
    spec = task(task_id)
    path = (spec.evaluator_dir / "seeds/dev.json" if split == "dev"
            else spec.hidden_dir / "test.json")
    return json.loads(path.read_text())["seeds"]


# -- the packages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("task_id", TASKS)
def test_each_package_ships_current_copies_of_the_shared_files(task_id):
    spec = task(task_id)
    copies = {spec.evaluator_dir / "rl_referee.py": SHARED / "rl_referee.py",
              spec.evaluator_dir / "rl_player.py": SHARED / "rl_player.py",
              spec.starter_dir / "train.py": SHARED / "starter/train.py",
              spec.starter_dir / "networks.py": SHARED / "starter/networks.py"}
    for copy, source in copies.items():
        assert copy.read_text() == source.read_text(), (
            f"{copy} is stale: reinstall the package (pip install -e plugins/tasks/{task_id})")


@pytest.mark.parametrize("task_id", TASKS)
def test_the_task_declares_the_papers_protocol_and_its_knobs_match_the_config(task_id):
    spec = task(task_id)
    config = (spec.starter_dir / "config.yaml").read_text()
    assert yaml.safe_load(config)["env_id"] == TASKS[task_id]
    assert spec.training_commands == ("long python train.py",)
    assert set(spec.paper_baseline) == {"reward_mean", "reward_std"}
    assert spec.splits == ("dev", "test") or list(spec.splits) == ["dev", "test"]
    for knob in spec.knobs:
        matches = re.findall(knob["pattern"], (spec.starter_dir / knob["file"]).read_text())
        assert len(matches) == 1, (knob["name"], matches)


@pytest.mark.parametrize("task_id", TASKS)
def test_dev_and_test_seeds_are_apart_and_the_test_seeds_hidden(task_id):
    spec = task(task_id)
    dev, test = seeds(task_id, "dev"), seeds(task_id, "test")
    assert len(set(dev)) == len(set(test)) == 5 and not set(dev) & set(test)
    visible = [p for p in (*spec.starter_dir.rglob("*"), *spec.evaluator_dir.rglob("*"))
               if p.is_file() and p.suffix in (".json", ".yaml", ".py")]
    for path in visible:
        assert not any(str(s) in path.read_text() for s in test), path


@pytest.mark.slow
@pytest.mark.parametrize("task_id", TASKS)
def test_the_environment_passes_check_env(task_id):
    check_task_env(task_id)


# -- whole evaluations ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("task_id", TASKS)
def test_a_random_policy_gets_the_score_of_random_play(task_id, tmp_path):
    run = run_evaluator(task_id, workspace(tmp_path / "ws", RANDOM), split="dev")
    again = run_evaluator(task_id, workspace(tmp_path / "ws", RANDOM), split="dev")
    assert run.scores == again.scores  # deterministic given the seeds
    assert "6400 episodes" in run.stderr
    low, high = {"rl-meta-maze": (5.0, 11.0),  # a random walk meets the goal now and then
                 "rl-mountain-car-continuous": (-40.0, -25.0),  # -0.1 E[a^2] x 999 steps, no flag
                 "rl-breakout-minatar": (0.0, 2.0)}[task_id]  # a brick or so before the ball is lost
    assert low < run.score() < high, run.scores
    assert run.score("reward_std") > 0


def test_dev_and_test_splits_score_other_episodes(tmp_path):
    folder = workspace(tmp_path / "ws", RANDOM)
    dev = rollout("rl-breakout-minatar", folder, environments=16, split="dev")
    test = rollout("rl-breakout-minatar", folder, environments=16, split="test")
    assert dev != test


def test_the_test_split_needs_the_hidden_seeds(tmp_path):
    run = run_evaluator("rl-meta-maze", workspace(tmp_path / "ws", RANDOM), hidden=False)
    assert "MLGYM_HIDDEN_DIR is unset" in run.failure()


@pytest.mark.slow
def test_a_short_training_run_beats_a_random_policy_on_breakout(tmp_path):
    spec = task("rl-breakout-minatar")
    trained = tmp_path / "trained"
    trained.mkdir()
    for name in ("train.py", "networks.py", "config.yaml"):
        (trained / name).write_text((spec.starter_dir / name).read_text())
    subprocess.run([sys.executable, "train.py", "--total-timesteps", "100000"], cwd=trained,
                   check=True, capture_output=True, timeout=900)
    assert sorted(p.name for p in (trained / "checkpoints").iterdir()) == [
        f"seed-{k}.msgpack" for k in range(5)]
    learned = run_evaluator(spec, trained, split="dev")
    random = run_evaluator(spec, workspace(tmp_path / "random", RANDOM), split="dev")
    # 12 updates already keep the ball in play for a few bricks more than random play
    assert learned.score() > random.score() + 0.5, (learned.scores, random.scores)


# -- the referee's checks -------------------------------------------------------------------------

def failure(task_id: str, folder: Path) -> str:
    module = referee(task_id)
    with pytest.raises((module.referee.PlayerError, module.EvaluationFailure)) as caught:
        rollout(task_id, folder)
    return str(caught.value)


@pytest.mark.parametrize("value, message", [
    ("np.zeros(len(obs) + 1, dtype=np.int32)", "not (257,)"),
    ("np.zeros((len(obs), 1), dtype=np.int32)", "must have shape"),
    ("np.zeros(len(obs), dtype=np.float32)", "must hold signed integers or unsigned integers"),
    ("np.zeros(len(obs), dtype=bool)", "must hold signed integers or unsigned integers"),
    ("np.full(len(obs), 3)", "must lie in [0, 2]; one is 3"),
    ("np.full(len(obs), -1)", "must lie in [0, 2]; one is -1"),
])
def test_malformed_discrete_actions_fail_the_evaluation(value, message, tmp_path):
    # 5 seeds x 2 environments per checkpoint; the player pads a batch to 256 rows
    text = failure("rl-breakout-minatar", workspace(tmp_path / "ws", constant(value)))
    assert message in text and "the actions of checkpoint 0" in text, text


@pytest.mark.parametrize("value, message", [
    ("np.full((len(obs), 1), np.nan, dtype=np.float32)", "holds NaN or infinite values"),
    ("np.full((len(obs), 1), np.inf, dtype=np.float32)", "holds NaN or infinite values"),
    ("np.zeros(len(obs), dtype=np.float32)", "must have shape (10, 1), not (10,)"),
    ("np.zeros((len(obs), 1), dtype=np.int64)", "must hold floats"),
])
def test_malformed_continuous_actions_fail_the_evaluation(value, message, tmp_path):
    text = failure("rl-mountain-car-continuous", workspace(tmp_path / "ws", constant(value)))
    assert message in text, text


def test_continuous_actions_beyond_the_bounds_are_clipped(tmp_path):
    full = rollout("rl-mountain-car-continuous",
                   workspace(tmp_path / "a", constant("np.ones((len(obs), 1), np.float32)")))
    beyond = rollout("rl-mountain-car-continuous",
                     workspace(tmp_path / "b", constant("np.full((len(obs), 1), 1e30)")))
    assert full == beyond


@pytest.mark.parametrize("change, message", [
    (lambda ws: (ws / "checkpoints/seed-4.txt").unlink(), "must hold exactly 5 files"),
    (lambda ws: (ws / "networks.py").unlink(), "networks.py not found"),
    (lambda ws: (ws / "networks.py").write_text("x = 1\n"), "defines no function load_policy"),
    (lambda ws: (ws / "networks.py").write_text(
        "def load_policy(c, config, info):\n    raise ValueError('no such layer')\n"),
     "load raised ValueError: no such layer"),
])
def test_a_submission_that_cannot_be_loaded_fails_with_a_message(change, message, tmp_path):
    folder = workspace(tmp_path / "ws", RANDOM)
    change(folder)
    assert message in failure("rl-meta-maze", folder)


def test_returns_count_only_until_each_episodes_first_end(tmp_path):
    # a constant policy on Meta Maze: every episode lasts the 200 steps of its time limit, and
    # the referee stops there although gymnax would run on into a new episode
    module = referee("rl-meta-maze")
    folder = workspace(tmp_path / "ws", constant("np.zeros(len(obs), np.int32)"))
    rollout_ = module.Rollout("MetaMaze-misc", seeds("rl-meta-maze", "dev"), 5, 0, 2)
    assert rollout_.params.max_steps_in_episode == 200
    metrics = rollout("rl-meta-maze", folder)
    assert math.isfinite(metrics["reward_mean"])
