"""What ``mlgym run`` shows while an episode runs: a line per step, or one line kept up to date."""

from __future__ import annotations

import io

import pytest
from episodes import SOLVE, TASK, scripted_config

from mlgym.agents import ProgressView, Trajectory, create_agent, run_episode
from mlgym.episode import MLGymEnv

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def shown(tmp_path, live: bool) -> str:
    stream = io.StringIO()
    agent = create_agent(scripted_config(tmp_path, SOLVE))
    env = MLGymEnv(TASK, backend="local", tools=[], max_steps=30)
    trajectory = Trajectory(task=TASK, agent="react", model=agent.model_name, seed=0,
                            protocol="mlgym", backend="local", run_id="t", agent_config={},
                            env_config={})
    run_episode(env, agent, trajectory, seed=0, progress=ProgressView(stream, live=live))
    return stream.getvalue()


def test_plain_output_has_a_line_per_step_and_a_summary(tmp_path):
    lines = shown(tmp_path, live=False).splitlines()
    steps = [line for line in lines if line.startswith("step ") and "/30 " in line]
    assert [s.split("> ")[1] for s in steps] == ["ls", "python predict.py", "validate", "submit"]
    assert steps[0].startswith("step 1/30  $0.0000  best accuracy - (baseline 0.925)")
    assert steps[2].startswith("step 3/30  $0.0000  best accuracy 0.925 (baseline 0.925)")
    assert "step 3: validate -> accuracy 0.925, errors 3" in lines
    assert lines[-4:-1] == ["exit reason: submitted",
                            "accuracy: submission 0.925, best 0.925, baseline 0.925",
                            "errors: submission 3, best 3, baseline 3"]
    assert "\r" not in "".join(lines)


def test_a_terminal_gets_one_line_rewritten_in_place(tmp_path):
    text = shown(tmp_path, live=True)
    assert text.count("\r\x1b[K") >= 4  # each step rewrites the status line
    assert "> python predict.py" in text
    final = text.rsplit("\r\x1b[K", 1)[1]
    assert final.startswith("exit reason: submitted")  # the summary replaces the status line
