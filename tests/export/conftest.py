"""Episodes to export: the react agent with a scripted model on the fixture task, run the way
``mlgym run`` runs them (:func:`mlgym.agents.launch.run_episode_from_spec`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from mlgym.agents import ProgressView, agent_config
from mlgym.agents.launch import EpisodeSpec, run_episode_from_spec

sys.path.insert(0, str(Path(__file__).resolve().parent))  # export_episodes

from export_episodes import TASK  # noqa: E402


@pytest.fixture
def run_episode(mlgym_fixtures, tmp_path):
    """``run_episode(replies, name, protocol="strict", **config)`` -> the episode's folder."""

    def run(replies: list, name: str, protocol: str = "strict", seed: int = 0,
            **overrides) -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True)
        script = folder / "replies.yaml"
        script.write_text(yaml.safe_dump(replies))
        model = {"name": f"scripted:{script}", "backoff": 0.0, **overrides.pop("model", {})}
        config = agent_config("react", None, {"tools": [], "model": model, **overrides})
        spec = EpisodeSpec(task=TASK, config=config, seed=seed, protocol=protocol,
                           backend="local", out_dir=folder / "episode")
        launched = run_episode_from_spec(spec, ProgressView(quiet=True))
        assert launched.trajectory["exit_reason"] == "submitted"
        return launched.out_dir

    return run
