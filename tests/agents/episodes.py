"""Running one episode on the fixture task in-process, as ``mlgym run`` does."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlgym.agents import Agent, ProgressView, Trajectory, agent_config, create_agent, run_episode
from mlgym.episode import MLGymEnv

TASK = "fixture-threshold"

SOLVE = [
    "I look at the files first.\n```\nls\n```",
    "I run the starter code to produce predictions.\n```bash\npython predict.py\n```",
    "Now I check the score.\n```\nvalidate\n```",
    "That is the baseline; I hand it in.\n```\nsubmit\n```",
]


def react_config(**overrides) -> dict:
    """The react agent's shipped config, without tool bundles (faster), with overrides."""
    return agent_config("react", None, {"tools": [], **overrides})


def scripted_config(folder: Path, replies: list, price: dict | None = None, **overrides) -> dict:
    """A react config whose model is ``scripted:<file>`` holding ``replies``."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "replies.yaml"
    script.write_text(yaml.safe_dump(replies))
    model = {"name": f"scripted:{script}", "backoff": 0.0}
    if price:
        model["price"] = price
    return react_config(model=model, **overrides)


def run_fixture_episode(agent: Agent | dict, out: Path, backend: str = "local",
                        protocol: str = "mlgym", seed: int = 0, **env_options) -> dict:
    """Run the agent (or the agent a config describes) for one episode; return the trajectory."""
    agent = create_agent(agent) if isinstance(agent, dict) else agent
    config = agent.config
    env = MLGymEnv(TASK, backend=backend, protocol=protocol, tools=list(agent.tools), seed=seed,
                   max_steps=config.get("max_steps") or 30, cost_limit=config.get("cost_limit"),
                   **env_options)
    trajectory = Trajectory(task=TASK, agent=config["agent"], model=agent.model_name, seed=seed,
                            protocol=protocol, backend=backend, run_id="test",
                            agent_config=config, env_config={"backend": backend}, out_dir=out)
    return run_episode(env, agent, trajectory, seed=seed, progress=ProgressView(quiet=True))
