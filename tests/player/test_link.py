"""PlayerLink: a referee run as an evaluator gets a fresh, isolated player per connection, at most
``max_starts`` of them, and nothing of any player outlives the link."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

import pytest

from mlgym.player import PlayerLink, PlayerSetup, library_files
from mlgym.sandbox.base import Limits, Mount, Sandbox
from mlgym.sandbox.identity import player as player_identity

from .test_protocol import referee

ISOLATING_BACKENDS = [pytest.param("bwrap", marks=pytest.mark.bwrap),
                      pytest.param("docker", marks=pytest.mark.docker)]
WORKSPACE = "/home/agent/workspace"
PLAYER_DIR = "/mlgym/player"
EVALUATOR_DIR = "/mlgym/evaluator"

PLAYER = """\
import os, socket, sys, time
import mlgym_player

def report(port):
    seen_before = os.path.exists("/tmp/mark")
    with open("/tmp/mark", "w") as f:
        f.write("connection")
    try:
        with open(os.path.join(os.environ["MLGYM_WORKSPACE"], "written.txt"), "w") as f:
            f.write("x")
        wrote = True
    except OSError:
        wrote = False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
        reached = True
    except OSError:
        reached = False
    return {"uid": os.getuid(), "hidden": os.path.exists("/mlgym/hidden"),
            "evaluator": os.path.exists("/mlgym/evaluator"), "seen_before": seen_before,
            "wrote_workspace": wrote, "reached_host": reached,
            "interfaces": sorted(name for _, name in socket.if_nameindex()),
            "workspace": sorted(os.listdir(os.environ["MLGYM_WORKSPACE"]))}

def whoami(port):
    return {"uid": os.getuid(), "workspace": sorted(os.listdir(os.environ["MLGYM_WORKSPACE"]))}

mlgym_player.serve({"report": report, "whoami": whoami, "hang": lambda: time.sleep(600)})
"""

REFEREE = """\
import json, sys
import mlgym_referee as referee

port, connections, call = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
reports = []
for _ in range(connections):
    try:
        with referee.connect() as player:
            reports.append(player.call(call, [[port]])[0])
    except referee.PlayerError as exc:
        reports.append({"error": exc.kind})
print(json.dumps(reports))
"""


@pytest.fixture
def task(tmp_path: Path) -> dict[str, Path]:
    """The folders of a task with a player: workspace, player, evaluator, hidden data."""
    folders = {name: tmp_path / name for name in ("workspace", "player", "evaluator", "hidden")}
    for folder in folders.values():
        folder.mkdir(mode=0o755)
        folder.chmod(0o755)  # the evaluator and player uids must read them
    for name, path in library_files().items():
        shutil.copyfile(path, folders["player"] / name)
        shutil.copyfile(path, folders["evaluator"] / name)
    (folders["player"] / "player.py").write_text(PLAYER)
    (folders["evaluator"] / "referee.py").write_text(REFEREE)
    (folders["workspace"] / "hello.txt").write_text("hello\n")
    (folders["hidden"] / "answer.txt").write_text("secret\n")
    for folder in folders.values():
        for path in folder.iterdir():
            path.chmod(0o644)
    return folders


def setup_for(task: dict[str, Path], argv: list[str] | None = None, **fields) -> PlayerSetup:
    return PlayerSetup(argv=argv or ["python3", "player.py"], cwd=PLAYER_DIR,
                       mounts=[Mount(task["player"], PLAYER_DIR)],
                       env={"MLGYM_WORKSPACE": WORKSPACE}, limits=Limits(memory_mb=512,
                                                                         processes=64),
                       **fields)


def run_referee(sandbox: Sandbox, link: PlayerLink, task: dict[str, Path], connections: int,
                port: int = 1, call: str = "report") -> list[dict]:
    mounts = [Mount(task["evaluator"], EVALUATOR_DIR), Mount(task["hidden"], "/mlgym/hidden"),
              *link.mounts()]
    result = sandbox.run_isolated(["python3", "referee.py", str(port), str(connections), call],
                                  cwd=EVALUATOR_DIR, mounts=mounts, env=link.env(), timeout=120)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.output.strip().splitlines()[-1])


@pytest.fixture
def host_listener():
    """A TCP server on the host's loopback, which no player may reach."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()[1]
    server.close()


def marked_pids(marker: str) -> list[int]:
    """Host pids of the processes whose command line holds ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            with contextlib.suppress(OSError):
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
    return found


def wait_for(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def player_containers(marker: str) -> list:
    import docker

    client = docker.from_env()
    found = client.containers.list(all=True, filters={"label": "mlgym.sandbox=player"})
    return [c for c in found if marker in " ".join(c.attrs["Args"] or [])]


@pytest.mark.parametrize("backend", ISOLATING_BACKENDS)
def test_each_connection_gets_a_fresh_isolated_player(backend, make_sandbox, task, host_listener):
    sandbox = make_sandbox(backend, workspace=task["workspace"])
    with PlayerLink(sandbox, setup_for(task)) as link:
        first, second = run_referee(sandbox, link, task, 2, host_listener)
    assert link.log.starts == 2 and link.log.refused == 0
    for report in (first, second):
        assert report["uid"] == player_identity().uid == 61002
        assert report["hidden"] is False and report["evaluator"] is False
        assert report["wrote_workspace"] is False and report["reached_host"] is False
        assert report["interfaces"] == ["lo"]
        assert "hello.txt" in report["workspace"]
    assert first["seen_before"] is False
    assert second["seen_before"] is False  # connection 1's /tmp is gone
    assert not (task["workspace"] / "written.txt").exists()


@pytest.mark.parametrize("backend", ISOLATING_BACKENDS)
def test_connections_beyond_max_starts_are_refused(backend, make_sandbox, task):
    sandbox = make_sandbox(backend, workspace=task["workspace"])
    with PlayerLink(sandbox, setup_for(task, max_starts=1)) as link:
        first, second = run_referee(sandbox, link, task, 2)
    assert first["uid"] == 61002
    assert second == {"error": "exited"}
    assert (link.log.starts, link.log.refused) == (1, 1)


@pytest.mark.parametrize("backend", ISOLATING_BACKENDS)
def test_a_player_that_never_connects_is_killed_after_start_timeout(backend, make_sandbox, task):
    sandbox = make_sandbox(backend, workspace=task["workspace"])
    marker = f"mlgym-test-{uuid.uuid4().hex}"
    argv = ["python3", "-c", "import time; time.sleep(600)", marker]
    with PlayerLink(sandbox, setup_for(task, argv, start_timeout=2.0)) as link:
        started = time.monotonic()
        assert run_referee(sandbox, link, task, 1) == [{"error": "exited"}]
        assert time.monotonic() - started < 60
        assert any("did not connect within 2 s" in f for f in link.log.start_failures)
        assert wait_for(lambda: not marked_pids(marker), 60)
    if backend == "docker":
        assert player_containers(marker) == []


@pytest.mark.parametrize("backend", ISOLATING_BACKENDS)
def test_close_kills_the_running_player(backend, make_sandbox, task, monkeypatch):
    sandbox = make_sandbox(backend, workspace=task["workspace"])
    marker = f"mlgym-test-{uuid.uuid4().hex}"
    link = PlayerLink(sandbox, setup_for(task, ["python3", "player.py", marker]))
    try:
        link.__enter__()
        host_socket = link.mounts()[0].source / Path(link.env()["MLGYM_PLAYER_SOCKET"]).name
        monkeypatch.setenv("MLGYM_PLAYER_SOCKET", str(host_socket))
        player = referee.connect(call_timeout=60)
        player.send("hang")
        assert wait_for(lambda: bool(marked_pids(marker))), "the player never started"
        if backend == "docker":
            assert len(player_containers(marker)) == 1
    finally:
        link.close()
    assert wait_for(lambda: not marked_pids(marker), 60)
    if backend == "docker":
        assert player_containers(marker) == []
    with pytest.raises(referee.PlayerError) as info:
        player.receive(timeout=10)
    assert info.value.kind == "exited"
    player.close()
    assert not link.root.exists()


def test_local_backend_runs_players_without_isolation(make_sandbox, task):
    sandbox = make_sandbox("local", workspace=task["workspace"])
    with PlayerLink(sandbox, setup_for(task)) as link:
        (report,) = run_referee(sandbox, link, task, 1, call="whoami")
    assert report["uid"] == os.getuid()  # no identity of its own: the caller's
    assert "hello.txt" in report["workspace"]
    assert link.log.starts == 1 and not link.root.exists()


@pytest.mark.bwrap
def test_a_link_folder_deeper_than_a_socket_path_allows_still_serves(make_sandbox, task,
                                                                     tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)  # the socket's path alone passes 107 bytes
    deep.mkdir(parents=True)
    sandbox = make_sandbox("bwrap", workspace=task["workspace"])
    with PlayerLink(sandbox, setup_for(task), parent=deep) as link:
        assert len(str(link.root / "referee" / "referee.sock")) > 107
        (report,) = run_referee(sandbox, link, task, 1, call="whoami")
    assert "hello.txt" in report["workspace"]
    assert link.log.starts == 1 and not link.root.exists()
