"""``mlgym run``, ``show`` and ``replay`` as a user runs them: subprocesses of the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from episodes import SOLVE
from fake_provider import reply

from mlgym.agents import trajectory as trajectories

CLI = [sys.executable, str(Path(__file__).with_name("with_fixtures.py"))]
NO_TOOLS = {"agent": "react", "tools": []}


def mlgym(*args, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def write(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_run_show_and_replay_with_a_scripted_model(tmp_path):
    script = write(tmp_path / "replies.yaml", SOLVE)
    config = write(tmp_path / "agent.yaml", NO_TOOLS)
    out = tmp_path / "episode"
    done = mlgym("run", "--task", "fixture-threshold", "--config", config, "--model",
                 f"scripted:{script}", "--backend", "local", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "step 3/30" in done.stdout and "> validate" in done.stdout
    assert "exit reason: submitted" in done.stdout
    assert "accuracy: submission 0.925, best 0.925, baseline 0.925" in done.stdout
    saved = trajectories.load(out / "trajectory.json")
    assert saved["config"]["environment"]["backend"] == "local"
    assert saved["config"]["agent"]["tools"] == []

    shown = mlgym("show", out)
    assert shown.returncode == 0, shown.stderr
    assert "$ python predict.py" in shown.stdout
    assert "I run the starter code to produce predictions." in shown.stdout
    assert "step 4: submit on test: accuracy 0.925" in shown.stdout

    again = mlgym("replay", out / "trajectory.json", "--out", tmp_path / "replayed")
    assert again.returncode == 0, again.stderr
    assert "original: accuracy 0.925, errors 3 (submitted, 4 steps)" in again.stdout
    assert "replay:   accuracy 0.925, errors 3 (submitted, 4 steps)" in again.stdout
    replayed = trajectories.load(tmp_path / "replayed")
    assert replayed["agent"] == "replay"
    assert [s["action"] for s in replayed["steps"]] == [s["action"] for s in saved["steps"]]


def test_run_against_an_openai_compatible_server(provider, tmp_path):
    provider.script(*(reply(text, usage=(500, 50)) for text in SOLVE))
    config = write(tmp_path / "agent.yaml", {**NO_TOOLS, "model": {
        "price": {"input_per_mtok": 2.0, "output_per_mtok": 10.0}}})
    done = mlgym("run", "--task", "fixture-threshold", "--model", "openai/fake-model",
                 "--api-base", provider.api_base, "--config", config, "--backend", "local",
                 "--out", tmp_path / "episode", "--quiet")
    assert done.returncode == 0, done.stderr
    assert len(provider.requests) == 4
    assert "step 1/" not in done.stdout  # --quiet: the summary only
    assert "cost: $0.0060" in done.stdout  # 4 x (500 x $2 + 50 x $10) per million
    result = json.loads((tmp_path / "episode" / "result.json").read_text())
    assert result["method"] == "react:openai/fake-model"
    assert result["cost"] == pytest.approx(0.006)


def test_default_output_folder_is_under_the_results_dir(tmp_path):
    done = mlgym("run", "--task", "fixture-threshold", "--agent", "baseline", "--backend", "local",
                 env={"MLGYM_RESULTS_DIR": str(tmp_path)})
    assert done.returncode == 1  # the starter code writes no predictions until it is run
    [episode] = tmp_path.glob("*/fixture-threshold__baseline__seed0")
    assert trajectories.load(episode)["exit_reason"] == "error"
    assert "options.commands" in done.stdout


def test_ctrl_c_stops_cleanly(tmp_path):
    # a sleep no other process on this machine runs (another run of this test, say, or one
    # killed before it could clean up): its presence says that this episode is at step 2
    sleep = f"sleep 4321.{os.getpid()}"
    script = write(tmp_path / "replies.yaml", [SOLVE[0], f"Wait.\n```\n{sleep}\n```"])
    config = write(tmp_path / "agent.yaml", NO_TOOLS)
    out = tmp_path / "episode"
    # as at a terminal, where Ctrl-C reaches a program whose SIGINT is at its default: a test run
    # started in the background by a non-interactive shell has it ignored, and its children too
    process = subprocess.Popen([*CLI, "run", "--task", "fixture-threshold", "--config", config,
                                "--model", f"scripted:{script}", "--backend", "local", "--out",
                                out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:
        if line.startswith("step 1/"):
            break
    deadline = time.monotonic() + 120
    while not _processes_running(sleep) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_running(sleep), "step 2 did not start its command"
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=60)
    assert process.returncode == 130, (rest + errors)[-3000:]
    assert "exit reason: interrupted" in rest
    saved = trajectories.load(out)
    assert saved["exit_reason"] == "interrupted"
    assert [s["action"] for s in saved["steps"]] == ["ls"]
    assert not _processes_running(sleep)


def _processes_running(command: str) -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().replace(b"\0", b" ").strip() == command.encode():
                return True
        except OSError:
            continue
    return False


def test_help_does_not_import_litellm():
    code = ("import sys; from mlgym.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('litellm', 'openai')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_mistakes_in_the_command_line_are_explained(tmp_path):
    done = mlgym("run", "--task", "fixture-treshold", "--agent", "baseline")
    assert done.returncode == 1
    assert "unknown task 'fixture-treshold'" in done.stderr
    assert "fixture-threshold" in done.stderr  # the near match
    bad = write(tmp_path / "agent.yaml", {"agent": "react", "model": {"temprature": 0.2}})
    done = mlgym("run", "--task", "fixture-threshold", "--config", bad)
    assert done.returncode == 1
    assert f"{bad}:3:3: model.temprature" in done.stderr and "did you mean 'temperature'" in done.stderr
    done = mlgym("show", tmp_path / "agent.yaml")
    assert done.returncode == 1 and "not JSON" in done.stderr


def test_a_model_without_a_known_price_is_flagged(provider, tmp_path):
    provider.script(*(reply(text) for text in SOLVE))
    config = write(tmp_path / "agent.yaml", NO_TOOLS)
    done = mlgym("run", "--task", "fixture-threshold", "--model", "openai/fake-model",
                 "--api-base", provider.api_base, "--config", config, "--backend", "local",
                 "--out", tmp_path / "episode")
    assert done.returncode == 0, done.stderr
    assert "warning: no price is known for openai/fake-model" in done.stdout
    done = mlgym("run", "--task", "fixture-threshold", "--api-base", provider.api_base)
    assert done.returncode == 1 and "name the model served there" in done.stderr
