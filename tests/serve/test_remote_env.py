"""The environment over HTTP: the client passes check_env, runs a whole episode, and the server
keeps its session limit, idle timeout, token and the options a client may not set."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import gymnasium
import httpx
import pytest

from mlgym.cli import main as mlgym
from mlgym.episode import MLGymEnv
from mlgym.errors import ConfigError
from mlgym.serve import RemoteEnv, RemoteEnvError
from mlgym.testing import assert_passes_check_env

TASK = "fixture-threshold"


def test_remote_env_passes_check_env(serve):
    served = serve()
    env = gymnasium.make("mlgym-remote", url=served.url, task=TASK).unwrapped
    assert isinstance(env, RemoteEnv)
    try:
        assert_passes_check_env(env)
    finally:
        env.close()
    assert len(served.sessions) == 0  # every episode check_env opened was closed


def test_a_scripted_episode_over_http_matches_the_local_env(serve):
    served = serve()
    actions = ["cat predict.py", "sed -i 's/THRESHOLD = .*/THRESHOLD = 50/' predict.py",
               "python3 predict.py", "validate", "submit"]
    remote = RemoteEnv(served.url, TASK, options={"protocol": "strict"})
    local = MLGymEnv(TASK, backend="local", protocol="strict")
    try:
        observations = []
        for env in (remote, local):
            obs, info = env.reset(seed=3)
            seen = [obs]
            for action in actions:
                obs, reward, terminated, truncated, info = env.step(action)
                seen.append(obs)
            observations.append((seen, terminated, truncated, info["evaluations"]))
            if env is remote:
                state = remote.state()
                assert state["over"] is True and state["steps"] == len(actions)
        (remote_seen, r_term, r_trunc, r_evals), (local_seen, l_term, l_trunc, l_evals) = observations
        assert r_term and not r_trunc and (l_term, l_trunc) == (r_term, r_trunc)
        assert [e["split"] for e in r_evals] == ["dev", "test"]
        assert [e["scores"] for e in r_evals] == [e["scores"] for e in l_evals]
        assert remote_seen[1] == local_seen[1]  # the file as the agent read it
    finally:
        remote.close()
        local.close()


def test_session_limit_idle_timeout_and_client_options(serve):
    served = serve(max_sessions=1, idle_timeout=0.3)
    first = RemoteEnv(served.url, TASK)
    second = RemoteEnv(served.url, TASK)
    try:
        first.reset(seed=0)
        with pytest.raises(RemoteEnvError) as refused:
            second.reset(seed=0)
        assert refused.value.status == 429 and "sessions are in use" in str(refused.value)
        time.sleep(0.5)
        assert served.sessions.close_idle() or len(served.sessions) == 0  # the sweeper may be first
        with pytest.raises(RemoteEnvError) as gone:
            first.step("ls")
        assert gone.value.status == 404
        second.reset(seed=0)  # the slot is free again
        backend = RemoteEnv(served.url, TASK, options={"backend": "local"})
        with pytest.raises(RemoteEnvError) as chosen:
            backend.reset()
        assert chosen.value.status == 400 and "cannot be set by a client" in str(chosen.value)
        with pytest.raises(ConfigError):
            second.reset(options={"protocol": "strict"})
    finally:
        first.close()
        second.close()


def test_token_is_required_when_set(serve):
    served = serve(token="s3cret-token-for-tests")
    assert httpx.get(f"{served.url}/v1/health").status_code == 401
    wrong = httpx.get(f"{served.url}/v1/health", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    env = RemoteEnv(served.url, TASK, token="s3cret-token-for-tests")
    try:
        assert env.health()["protocol"] == "mlgym-serve/1"
        obs, _ = env.reset(seed=0)
        assert "predict.py" in obs
    finally:
        env.close()


def test_mlgym_serve_refuses_the_local_backend_off_loopback(capsys):
    assert mlgym(["serve", "--host", "0.0.0.0", "--port", "0", "--backend", "local"]) == 1
    assert "unisolated" in capsys.readouterr().err


def test_mlgym_serve_off_loopback_makes_a_token():
    command = [sys.executable, "-m", "mlgym", "serve", "--host", "0.0.0.0", "--port", "0",
               "--task", "prisoners-dilemma", "--max-sessions", "1", "--backend", "bwrap"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "MLGYM_SERVE_TOKEN": ""})
    try:
        token_line = process.stdout.readline()
        serving_line = process.stdout.readline()
        token = re.search(r"token .*: (\S+)$", token_line.strip()).group(1)
        port = re.search(r":(\d+)/v1", serving_line).group(1)
        url = f"http://127.0.0.1:{port}/v1/health"
        assert _get_when_listening(url).status_code == 401
        health = httpx.get(url, headers={"Authorization": f"Bearer {token}"}).json()
        assert health["tasks"] == ["prisoners-dilemma"] and health["max_sessions"] == 1
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _get_when_listening(url: str) -> httpx.Response:
    """The server prints its address before uvicorn starts listening."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
