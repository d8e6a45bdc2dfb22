"""Episodes for the viewer's tests: one of the react agent driven by the scripted model, which
edits ``predict.py`` and beats the baseline, and one of the ``baseline`` agent, both on the
fixture task in a bwrap sandbox; and a trajectory written by the first format (version 1)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from mlgym.agents import ProgressView, Trajectory, agent_config, create_agent, run_episode
from mlgym.episode import MLGymEnv

HERE = Path(__file__).resolve().parent
OLD_EPISODE = HERE / "data" / "v1"  # written by the format-1 runner: same task, same replies
TASK = "fixture-threshold"
IMPROVE = [
    "I look at the files.\n```\nls\n```",
    "A lower threshold may label more rows right.\n"
    "```\nsed -i 's/THRESHOLD = 50/THRESHOLD = 45/' predict.py\n```",
    "I write the predictions.\n```\npython predict.py\n```",
    "I check the score.\n```\nvalidate\n```",
    "Better than the baseline; I submit.\n```\nsubmit\n```",
]
_made: dict[str, Path] = {}


def run_episode_to(out: Path, config: dict, backend: str, **env_options) -> dict:
    """One episode of the agent ``config`` describes on the fixture task, written to ``out``."""
    agent = create_agent(config)
    env = MLGymEnv(TASK, backend=backend, tools=list(agent.tools), seed=0, max_steps=10,
                   **env_options)
    trajectory = Trajectory(task=TASK, agent=config["agent"], model=agent.model_name, seed=0,
                            protocol="mlgym", backend=backend, run_id="view-test",
                            agent_config=config,
                            env_config={"backend": backend, **env_options}, out_dir=out)
    return run_episode(env, agent, trajectory, seed=0, progress=ProgressView(quiet=True))


def scripted(folder: Path, replies: list[str]) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "replies.yaml").write_text(yaml.safe_dump(replies))
    return agent_config("react", None, {"tools": [], "model": {
        "name": f"scripted:{folder / 'replies.yaml'}", "backoff": 0.0,
        "price": {"input_per_mtok": 2.5, "output_per_mtok": 10}}})


@pytest.fixture
def results(mlgym_fixtures, require_backend, tmp_path_factory) -> Path:
    """A results folder: ``improve/`` (scripted react agent), ``baseline/`` (baseline agent),
    ``old/`` (a version 1 trajectory). Made once per test session."""
    if "results" not in _made:
        backend = require_backend("bwrap")
        root = tmp_path_factory.mktemp("results")
        run_episode_to(root / "improve", scripted(root / "script", IMPROVE), backend)
        baseline = agent_config("baseline", None, {"options": {"commands": ["python predict.py"]}})
        run_episode_to(root / "baseline", baseline, backend)
        shutil.copytree(OLD_EPISODE, root / "old")
        _made["results"] = root
    return _made["results"]


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where the browser test saves its screenshots: the test's folder, or the folder
    ``MLGYM_VIEW_SCREENSHOTS`` names (``docs/images`` to refresh the docs' pictures)."""
    folder = Path(os.environ.get("MLGYM_VIEW_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
