"""Episodes for the viewer's tests: one of the react agent driven by the scripted model, which
edits ``predict.py`` and beats the baseline, and one of the ``baseline`` agent, both on the
fixture task in a bwrap sandbox; and a trajectory written by the first format (version 1)."""

from __future__ import annotations

from pathlib import Path

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


def run_episode_to(out: Path, config: dict, backend: str, method: str | None = None,
                   **env_options) -> dict:
    """One episode of the agent ``config`` describes on the fixture task, written to ``out``
    (under the name ``method`` when given)."""
    agent = create_agent(config)
    env = MLGymEnv(TASK, backend=backend, tools=list(agent.tools), seed=0, max_steps=10,
                   **env_options)
    trajectory = Trajectory(task=TASK, agent=config["agent"], model=agent.model_name, seed=0,
                            protocol="mlgym", backend=backend, run_id="view-test",
                            agent_config=config,
                            env_config={"backend": backend, **env_options}, out_dir=out)
    if method:
        trajectory.data["method"] = method
    return run_episode(env, agent, trajectory, seed=0, progress=ProgressView(quiet=True))


def scripted(folder: Path, replies: list[str]) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "replies.yaml").write_text(yaml.safe_dump(replies))
    return agent_config("react", None, {"tools": [], "model": {
        "name": f"scripted:{folder / 'replies.yaml'}", "backoff": 0.0,
        "price": {"input_per_mtok": 2.5, "output_per_mtok": 10}}})


