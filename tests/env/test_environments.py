"""Task Python environments: built once per requirement list, usable by the sandbox users,
extended by the agent only inside its own workspace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlgym.episode.environments import (
    MARKER,
    EnvironmentBuildError,
    base_python,
    ensure_environment,
    environment_key,
)
from mlgym.errors import ConfigError
from mlgym.testing import make_wheel


def test_environment_is_built_once_with_the_requirements(tmp_path):
    wheel = make_wheel(tmp_path / "wheels")
    requirements = [f"tinypkg @ file://{wheel}"]
    root = tmp_path / "envs"
    folder = ensure_environment(requirements, root=root)
    out = subprocess.run([folder / "bin" / "python", "-c", "import tinypkg; print(tinypkg.VALUE)"],
                         capture_output=True, text=True)
    assert out.stdout.strip() == "42", out.stderr
    marker = (folder / MARKER).stat().st_mtime_ns
    assert ensure_environment(requirements, root=root) == folder
    assert (folder / MARKER).stat().st_mtime_ns == marker  # not rebuilt
    for base, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(base) / name
            if not path.is_symlink():
                assert path.stat().st_mode & 0o004, f"{path} is not readable by other users"
    other = ensure_environment([], root=root)
    assert other != folder and environment_key([], base_python()) == other.name


def test_a_failed_build_says_why_and_leaves_nothing(tmp_path):
    root = tmp_path / "envs"
    with pytest.raises(EnvironmentBuildError, match="environment.requirements") as info:
        ensure_environment(["nopkg @ file:///nonexistent/nopkg-1.0-py3-none-any.whl"], root=root)
    assert "nonexistent" in str(info.value)
    assert [p.name for p in root.iterdir() if not p.name.endswith(".lock")] == []


def test_base_python_must_be_usable_by_the_sandbox_users(monkeypatch, tmp_path):
    monkeypatch.setenv("MLGYM_PYTHON", "/usr/bin/python3")
    assert base_python() == Path("/usr/bin/python3")
    monkeypatch.setenv("MLGYM_PYTHON", "/nonexistent/python3")
    with pytest.raises(ConfigError, match="MLGYM_PYTHON='/nonexistent/python3'"):
        base_python()
    private = tmp_path / "private"  # like a pyenv under /root: other users cannot traverse it
    private.mkdir(mode=0o700)
    interpreter = private / "python3"
    shutil.copy2(Path(sys.executable).resolve(), interpreter)
    monkeypatch.setenv("MLGYM_PYTHON", str(interpreter))
    with pytest.raises(ConfigError, match="every user"):
        base_python()


def test_agent_pip_install_stays_in_the_workspace(backend, make_env, task_variant, tmp_path):
    probe = ("import importlib.util, json\n"
             "seen = importlib.util.find_spec('tinypkg') is not None\n"
             "print(json.dumps({'accuracy': float(seen), 'errors': 0}))\n")
    env = make_env(task_variant(probe), backend=backend)
    env.reset()
    wheel = make_wheel(tmp_path / "wheels")
    (env._workspace.workspace / wheel.name).write_bytes(wheel.read_bytes())
    obs = env.step(f"pip install --no-index {wheel.name}")[0]
    assert "Successfully installed tinypkg-0.1" in obs
    obs = env.step("python3 -c 'import tinypkg; print(tinypkg.VALUE, tinypkg.__file__)'")[0]
    value, where = obs.split()
    assert value == "42" and "/workspace/.local/lib/" in where
    assert env.step("validate")[4]["scores"]["accuracy"] == 0.0  # the evaluator does not see it
    shared = env._prepared[1]  # the task's environment: a folder, or inside docker's image
    if backend == "docker":
        assert shared is None
        assert env.step("ls /opt/venv/lib/python3*/site-packages | grep -c tinypkg || true")[0] == "0"
    else:
        assert shared is not None
        assert not list(shared.glob("lib/python3*/site-packages/tinypkg*"))
