"""The same bench on a local Ray cluster (started on loopback, stopped by its PID) gives the
results of the local executor."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from benchkit import SUBMIT, alive, descendants, mlgym, write_config

pytest.importorskip("ray")
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_cluster():
    """``ray start --head --block`` on loopback; yields its address, then stops it by its PID."""
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # Ray's socket paths must be short
    head = subprocess.Popen(
        [RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--num-cpus", "2", "--block", "--include-dashboard", "false", "--disable-usage-stats",
         "--temp-dir", str(temp)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        seen = []
        for line in head.stdout:
            seen.append(line)
            if "--block" in line or "block forever" in line:
                break
        else:
            raise AssertionError("ray start failed:\n" + "".join(seen[-40:]))
        yield f"127.0.0.1:{port}"
    finally:
        members = descendants(head.pid)
        head.send_signal(signal.SIGTERM)  # ray start --block stops what it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        deadline = time.monotonic() + 30
        while alive(members) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in alive(members):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def outcomes(run: Path) -> dict:
    """Per episode: what a reader of the results compares."""
    found = {}
    for path in sorted((run / "episodes").glob("*/result.json")):
        record = json.loads(path.read_text())
        found[path.parent.name] = (record["method"], record["exit_reason"], record["steps"],
                                   record["submission"]["scores"])
    return found


@pytest.mark.slow
def test_the_bench_on_a_local_ray_cluster_gives_the_local_results(tmp_path, bench_env,
                                                                  ray_cluster):
    (tmp_path / "local").mkdir()
    (tmp_path / "ray").mkdir()
    configs = {where: write_config(tmp_path / where, [SUBMIT]) for where in ("local", "ray")}
    local = mlgym("bench", "run", configs["local"], "--quiet", env=bench_env)
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    on_ray = mlgym("bench", "run", configs["ray"], "--executor", "ray", "--address", ray_cluster,
                   env=bench_env)
    assert on_ray.returncode == 0, on_ray.stdout[-3000:] + on_ray.stderr[-3000:]
    assert "executor ray" in on_ray.stdout
    assert "18 episodes: 18 done, 0 running, 0 failed, 0 pending" in on_ray.stdout
    expected = outcomes(tmp_path / "local" / "run")
    assert len(expected) == 18
    assert outcomes(tmp_path / "ray" / "run") == expected
