"""The documented example agent package installs with pip, runs an episode, and uninstalls."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlgym.agents import trajectory as trajectories

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "mlgym-agent-example"
CLI = [sys.executable, str(Path(__file__).with_name("with_fixtures.py"))]


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_example_agent_installs_runs_an_episode_and_uninstalls(tmp_path):
    source = tmp_path / "mlgym-agent-example"
    shutil.copytree(EXAMPLE, source)  # build in a copy: pip leaves build files beside the source
    installed = run(sys.executable, "-m", "pip", "install", "--no-deps",
                    "--quiet", source)
    assert installed.returncode == 0, installed.stderr
    try:
        listing = run(sys.executable, "-m", "mlgym", "list", "agents")
        line = next(x for x in listing.stdout.splitlines() if x.startswith("one-shot"))
        assert "mlgym-agent-example" in line
        replies = tmp_path / "replies.yaml"
        replies.write_text("- |\n  A lower threshold fits the data better.\n  ```bash\n"
                           "  sed -i s/50/45/ predict.py && python predict.py\n  ```\n")
        done = run(*CLI, "run", "--task", "fixture-threshold", "--agent", "one-shot", "--model",
                   f"scripted:{replies}", "--backend", "local", "--out", tmp_path / "episode")
        assert done.returncode == 0, done.stderr
        assert "accuracy: submission 0.95" in done.stdout
        saved = trajectories.load(tmp_path / "episode")
        assert [s["action"] for s in saved["steps"]][1:] == ["validate", "submit"]
        assert saved["steps"][0]["thought"] == "A lower threshold fits the data better."
        assert saved["totals"]["model_calls"] == 1
        assert saved["versions"]["distributions"]["mlgym-agent-example"] == "0.1.0"
    finally:
        removed = run(sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet",
                      "mlgym-agent-example")
        assert removed.returncode == 0, removed.stderr
    listing = run(sys.executable, "-m", "mlgym", "list", "agents")
    assert "one-shot" not in listing.stdout
