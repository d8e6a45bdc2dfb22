"""Tool bundles in an episode: executables on PATH, env, state in info, services on sockets."""

from __future__ import annotations

import socket

import pytest


def test_bundle_commands_state_and_service(backend, make_env):
    env = make_env(backend=backend, tools=["fixture-tools"])
    _, info = env.reset()
    workspace = env._sandbox.path_for("/home/agent/workspace")  # a host folder on `local`
    assert info["state"] == {"count": 0, "cwd": workspace}
    obs, *_, info = env.step("count")
    assert obs == "count is 1" and info["state"]["count"] == 1
    obs, *_, info = env.step("cd data && count")
    assert obs == "count is 2"
    assert info["state"] == {"count": 2, "cwd": f"{workspace}/data"}
    assert env.step("shout hello there")[0] == "HELLO THERE"
    assert env.step("echo $FIXTURE_GREETING")[0] == "hello from the bundle"
    where = env.step("command -v count; echo $MLGYM_SERVICE_FIXTURE_UPPER")[0].split("\n")
    if backend == "local":  # no mounts: the paths are mapped onto host folders
        assert where[0].endswith("tests/fixtures/tools/fixture-tools/bin/count")
    else:
        assert where == ["/mlgym/tools/fixture-tools/bin/count", "/mlgym/run/fixture-upper.sock"]
    _, info = env.reset()
    assert info["state"]["count"] == 0  # state is per episode


def test_bundle_files_are_read_only_for_the_agent(isolating_backend, make_env):
    env = make_env(backend=isolating_backend, tools=["fixture-tools"])
    env.reset()
    obs = env.step("echo 'echo hacked' > /mlgym/tools/fixture-tools/bin/count; count")[0]
    assert "count is 1" in obs and "hacked" not in obs


def test_services_stop_when_the_episode_ends(make_env):
    env = make_env(backend="local", tools=["fixture-tools"])
    env.reset()
    path = env._workspace.service_socket_path("fixture-upper")
    handle = env._service_handles[0]
    with socket.socket(socket.AF_UNIX) as s:  # the service answers while the episode runs
        s.connect(str(path))
    env.close()
    assert not path.exists()
    handle.thread.join(timeout=60)
    assert not handle.thread.is_alive()
    with socket.socket(socket.AF_UNIX) as s, pytest.raises(OSError):
        s.connect(str(path))
