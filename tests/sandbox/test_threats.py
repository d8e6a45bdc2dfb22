"""The threat model at the sandbox level: acting as the agent, try to break out; every attempt
must fail or be contained. Run on each isolating backend (bwrap, docker)."""

from __future__ import annotations

import json
import os
import site
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from mlgym.sandbox import identity, procs
from mlgym.sandbox.base import Limits, Mount

from .conftest import ISOLATING_BACKENDS, require_backend

SECRET = "secret-label-4242"
WS = "/home/agent/workspace"


@pytest.fixture
def task_files(tmp_path: Path) -> dict[str, Path]:
    """Data (read-only, root's), an evaluator folder, and hidden labels only the evaluator uid
    may read."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("x,y\n1,2\n")
    evaluator = tmp_path / "evaluator"
    evaluator.mkdir()
    (evaluator / "evaluate.py").write_text("print('{\"score\": 1.0}')\n")
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "labels.csv").write_text(SECRET + "\n")
    ev = identity.evaluator()
    identity.chown_tree(hidden, ev.uid, ev.gid)
    hidden.chmod(0o700)
    (hidden / "labels.csv").chmod(0o600)
    return {"data": data, "evaluator": evaluator, "hidden": hidden}


@pytest.fixture(params=ISOLATING_BACKENDS)
def attack(request, make_sandbox, task_files):
    """A sandbox with the task's mounts and tight limits, plus its backend name."""
    mounts = [Mount(task_files["data"], f"{WS}/data"),
              Mount(task_files["evaluator"], "/mlgym/evaluator"),
              Mount(task_files["hidden"], "/mlgym/hidden")]
    limits = Limits(memory_mb=256, processes=64, file_size_mb=8)
    return make_sandbox(request.param, mounts=mounts, limits=limits)


def agent_processes(sandbox) -> list[procs.Proc]:
    """The sandbox's processes that run as the agent, seen from the host."""
    found = [procs.read(pid) for pid in sandbox.host_pids()]
    return [p for p in found if p is not None and p.uid == identity.agent().uid]


def test_read_only_data_and_evaluator_cannot_be_changed(attack, task_files):
    result = attack.run(
        "rm -f data/train.csv; echo hacked >> data/train.csv; touch data/new; chmod 777 data; "
        "mv data/train.csv data/moved; echo 'print(9)' > /mlgym/evaluator/evaluate.py; "
        "rm -rf /mlgym/evaluator; ls data", 20)
    assert result.output.count("Read-only file system") >= 5, result.output
    assert (task_files["data"] / "train.csv").read_text() == "x,y\n1,2\n"
    assert sorted(p.name for p in task_files["data"].iterdir()) == ["train.csv"]
    assert (task_files["evaluator"] / "evaluate.py").read_text() == "print('{\"score\": 1.0}')\n"


def test_data_is_not_owned_by_the_agent_but_its_workspace_is(attack, task_files):
    result = attack.run("echo mine > made.txt; stat -c '%u %n' made.txt data/train.csv", 20)
    agent = identity.agent().uid
    assert result.output.splitlines() == [f"{agent} made.txt", "0 data/train.csv"]
    assert (Path(attack.config.workspace) / "made.txt").stat().st_uid == agent


def test_hidden_labels_are_unreadable_by_the_agent_but_not_the_evaluator(attack, task_files):
    hidden = task_files["hidden"]
    result = attack.run(f"cat /mlgym/hidden/labels.csv; ls /mlgym/hidden; "
                        f"cat {hidden}/labels.csv; grep -rs {SECRET} /mlgym /home /tmp /etc", 60)
    assert not result.timed_out
    assert SECRET not in result.output
    assert "Permission denied" in result.output
    evaluation = attack.run_isolated(["cat", "/hidden/labels.csv"], cwd="/", env={},
                                     mounts=[Mount(hidden, "/hidden")], timeout=60)
    assert evaluation.output == SECRET + "\n", evaluation.stderr


def test_the_evaluator_runs_as_another_uid_and_cannot_write_the_workspace(attack):
    result = attack.run_isolated(["sh", "-c", f"id -u; touch {WS}/x || echo denied"], cwd=WS,
                                 mounts=[], env={"MLGYM_SPLIT": "test"}, timeout=60)
    assert result.output.splitlines() == [str(identity.evaluator().uid), "denied"]
    assert result.exit_code == 0
    assert not (Path(attack.config.workspace) / "x").exists()


@pytest.fixture
def host_server():
    """A TCP server on the host's loopback that records every connection it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[tuple] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except TimeoutError:
                continue
            accepted.append(addr)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


CONNECT = ("python3 -c \"import socket,sys; socket.create_connection(('127.0.0.1', {port}), "
           "timeout=3); print('CONNECTED')\"")


def test_the_network_is_unreachable(attack, host_server):
    port, accepted = host_server
    result = attack.run(CONNECT.format(port=port) + f"; exec 3<>/dev/tcp/127.0.0.1/{port}", 30)
    assert "CONNECTED" not in result.output
    assert "refused" in result.output or "unreachable" in result.output.lower()
    assert accepted == []


def test_the_network_probe_does_connect_without_isolation(make_sandbox, host_server):
    port, accepted = host_server
    result = make_sandbox("local").run(CONNECT.format(port=port), 30)
    assert "CONNECTED" in result.output
    assert len(accepted) == 1


def test_writes_outside_the_workspace_fail_or_stay_private(attack, tmp_path):
    token = f"mlgym-escape-{os.getpid()}"
    result = attack.run(f"for p in /usr/bin/{token} /etc/{token} /{token} /home/{token} "
                        f"/root/{token} /var/{token}; do touch $p 2>/dev/null && echo MADE $p; "
                        f"done; echo private > /tmp/{token} && cat /tmp/{token}", 20)
    assert "MADE" not in result.output
    assert result.output.endswith("private\n")
    assert not Path(f"/tmp/{token}").exists()
    assert not Path(f"/{token}").exists()


def test_the_agent_cannot_signal_the_harness(attack):
    result = attack.run(f"kill -9 {os.getpid()}; kill -9 1; kill -TERM 1; echo still-here", 20)
    assert result.output.endswith("still-here\n")
    assert not result.restarted
    # killing everything it may signal reaches only its own processes
    result = attack.run("sleep 300 & kill -9 -1; wait; echo back", 20)
    assert result.output.endswith("back\n")


def running(token: str) -> bool:
    """Whether a process on the host has ``token`` in its command line."""
    for pid in (p.pid for p in procs.table()):
        try:
            if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def test_the_agent_cannot_stop_a_running_evaluation(attack, tmp_path):
    token = f"mlgym-go-{uuid.uuid4().hex}"  # the evaluation waits for this file, after the attack
    gate = tmp_path / "gate"
    gate.mkdir()
    outcome = {}

    def evaluate():
        wait = f"while [ ! -e /mlgym/{token}/go ]; do sleep 0.1; done; echo finished"
        outcome["result"] = attack.run_isolated(["sh", "-c", wait], cwd="/",
                                                mounts=[Mount(gate, f"/mlgym/{token}")], env={},
                                                timeout=300)

    thread = threading.Thread(target=evaluate)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not running(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running(token), "the evaluation did not start"
        attack.run("pkill -9 sleep; pkill -9 -f finished; pkill -9 -f mlgym-go; kill -9 -1", 20)
        assert running(token), "the agent's attack ended the evaluation"
    finally:
        (gate / "go").touch()
        thread.join()
    assert outcome["result"].output == "finished\n"
    assert outcome["result"].exit_code == 0


def test_a_fork_bomb_is_contained(attack):
    counts: list[int] = []
    done = threading.Event()

    def watch():  # sample the agent's processes on the host while the bombs run
        while not done.is_set():
            counts.append(len(agent_processes(attack)))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        attack.run("bomb() { bomb | bomb & }; bomb; sleep 2", 10)
        # a steady spawner presses against the limit for sure (the bomb may burn out early)
        attack.run("for i in $(seq 200); do sleep 60 & done", 4)
    finally:
        done.set()
        watcher.join()
    assert 16 < max(counts) <= attack.config.limits.processes
    after = attack.run("echo alive", 30)
    assert after.output.endswith("alive\n") or after.restarted
    assert attack.run("echo usable", 30).output.endswith("usable\n")


def test_filling_the_disk_stops_at_the_file_size_limit(attack):
    result = attack.run("head -c 20000000 /dev/zero > big.bin; echo rc=$?; stat -c %s big.bin", 60)
    assert "rc=0" not in result.output
    size = (Path(attack.config.workspace) / "big.bin").stat().st_size
    assert size <= 8 * 1024 * 1024


def test_exhausting_memory_kills_the_hog_not_the_machine(attack):
    hog = "python3 -c \"a = []\nwhile True: a.append(bytearray(16 << 20))\""
    result = attack.run(hog, 120)
    assert not result.timed_out
    assert result.exit_code != 0 or result.restarted
    assert attack.run("echo alive", 30).output.endswith("alive\n")


def test_no_process_or_container_survives_close(attack):
    attack.run("nohup sleep 1000 >/dev/null 2>&1 & setsid sleep 1001 >/dev/null 2>&1 & "
               "(sleep 1002 >/dev/null 2>&1 &) ; disown -a", 20)
    before = agent_processes(attack)
    assert len(before) >= 4  # the shell and three sleepers
    container = getattr(attack, "container", None)
    attack.close()
    assert procs.wait_gone([p.pid for p in before], timeout=60)
    assert attack.host_pids() == []
    if container is not None:
        import docker

        with pytest.raises(docker.errors.NotFound):
            container.client.containers.get(container.id)


@pytest.mark.parametrize("backend", ISOLATING_BACKENDS)
@pytest.mark.parametrize("folder", ["~", "/tmp", "/dev/shm"])
def test_filling_memory_backed_folders_stops_at_the_disk_budget(make_sandbox, backend, folder):
    sandbox = make_sandbox(backend, limits=Limits(memory_mb=512, disk_mb=64, file_size_mb=1024))
    sandbox.run(f"for i in 1 2 3; do head -c 40000000 /dev/zero > {folder}/big$i; done", 60)
    result = sandbox.run(f"du -cb {folder}/big* | tail -1", 30)
    assert int(result.output.split()[0]) <= 64 * 1024 * 1024
    sandbox.run(f"rm -f {folder}/big*", 30)
    assert sandbox.run(f"echo kept > {folder}/note; cat {folder}/note", 30).output == "kept\n"


@pytest.mark.parametrize("backend", ISOLATING_BACKENDS)
def test_memory_full_of_files_does_not_leave_the_sandbox_without_a_shell(make_sandbox, backend):
    sandbox = make_sandbox(backend, limits=Limits(memory_mb=256, file_size_mb=1024))
    # each folder may take half the memory: all three together cannot fit
    sandbox.run("for d in ~ /tmp /dev/shm; do head -c 200000000 /dev/zero > $d/big; done", 120)
    result = sandbox.run("echo alive", 60)
    assert result.output.endswith("alive\n")
    assert sandbox.run("python3 -c 'print(6 * 7)'", 60).output == "42\n"


RUN_BWRAP = """\
import json, site, sys
from pathlib import Path
site.addsitedir(sys.argv[1])  # mlgym and its dependencies, wherever this test runs from
from mlgym.sandbox.base import SandboxConfig
from mlgym.sandbox.bwrap import BwrapSandbox
sandbox = BwrapSandbox(SandboxConfig(workspace=Path(sys.argv[2])))
sandbox.start()
try:
    print(json.dumps(sandbox.run(sys.argv[3], 60).output))
finally:
    sandbox.close()
"""


def _harness_layouts() -> list:
    """Interpreters of this Python version that MLGym could run on here, by layout (this one, a
    virtual environment or a prefix; the one it was made from; the system's), each with the
    site-packages that plugins may be installed into for it: its own and its base prefix's."""
    candidates = {"this": sys.executable, "base-prefix": f"{sys.base_prefix}/bin/python3",
                  "system": "/usr/bin/python3"}
    found, prefixes = [], set()
    for name, python in candidates.items():
        if not os.access(python, os.X_OK):
            continue
        info = subprocess.run([python, "-c", "import json, site, sys; print(json.dumps("
                               "[sys.prefix, sys.version_info[:2], site.getsitepackages() + "
                               "site.getsitepackages([sys.base_prefix])]))"],
                              capture_output=True, text=True)
        prefix, version, folders = json.loads(info.stdout)
        if tuple(version) == sys.version_info[:2] and prefix not in prefixes:
            prefixes.add(prefix)
            folders = list(dict.fromkeys(f for f in folders if Path(f).is_dir()))
            found.append(pytest.param(python, folders,
                                      id=name, marks=pytest.mark.bwrap))
    return found


@pytest.mark.parametrize(("python", "site_packages"), _harness_layouts())
def test_bwrap_hides_the_site_packages_of_the_harness(python, site_packages, tmp_path):
    """Tasks installed with pip keep their hidden data in the harness's site-packages: a virtual
    environment's (not mounted), or the prefix's (mounted, so that ``python3`` works inside), or
    those of the prefix a virtual environment was made from. None is readable in the sandbox."""
    require_backend("bwrap")
    assert site_packages, f"{python} has no site-packages"
    probes = [Path(folder) / f"mlgym_probe_{os.getpid()}_{time.monotonic_ns()}.txt"
              for folder in site_packages]
    command = "".join(f"cat {p} 2>/dev/null; ls {p.parent} 2>/dev/null | grep -c mlgym_probe; "
                      for p in probes) + "python3 -c 'import json; print(json.dumps(1))'"
    try:
        for probe in probes:
            probe.write_text(SECRET + "\n")
            probe.chmod(0o644)
        ours = next(p for p in site.getsitepackages() if Path(p).is_dir())
        run = subprocess.run([python, "-c", RUN_BWRAP, ours, str(tmp_path / "ws"), command],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        output = json.loads(run.stdout.splitlines()[-1])
        assert SECRET not in output
        assert output.splitlines() == ["0"] * len(probes) + ["1"], (site_packages, output)
    finally:
        for probe in probes:
            probe.unlink(missing_ok=True)
