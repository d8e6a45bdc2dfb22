"""The threat model of docs/threat-model.md, attempted by the agent through ``env.step``.

Every attack must fail or stay contained, and a ``validate`` afterwards must still score the
workspace correctly: the starter predictions score accuracy 0.925 and 3 errors on the test split.
Runs on the isolating backends only (``local`` isolates nothing, by design).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import sysconfig
import threading
import uuid
from pathlib import Path

import pytest

from mlgym.sandbox import procs
from mlgym.specs import load_task

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EVALUATOR = FIXTURES / "tasks" / "threshold" / "evaluator" / "evaluate.py"
HIDDEN = FIXTURES / "tasks" / "threshold" / "hidden" / "labels.csv"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def episode(isolating_backend, make_env, task_variant):
    """A started episode with the starter's predictions written (short command timeout)."""
    task = task_variant(limits={"command_timeout": 10, "training_timeout": 30})
    env = make_env(task, backend=isolating_backend)
    env.reset()
    assert "wrote 60 predictions" in env.step("python3 predict.py")[0]
    return env


def assert_scored_correctly(env, action: str = "validate") -> None:
    obs, reward, terminated, truncated, info = env.step(action)
    assert info["evaluation"]["ok"], obs
    assert info["scores"] == {"accuracy": 0.925, "errors": 3.0}, obs


def run(env, command: str) -> str:
    return env.step(command)[0]


def test_evaluator_cannot_be_changed_or_shadowed(episode):
    before = sha(EVALUATOR)
    fake = 'print(\\"{\\\\\\"accuracy\\\\\\": 1.0, \\\\\\"errors\\\\\\": 0}\\")'
    out = run(episode, f"echo \"{fake}\" > evaluator/evaluate.py; echo rc=$?; "
                       "rm -rf evaluator; echo rc=$?; mv evaluator gone; echo rc=$?; "
                       "chmod 777 evaluator/evaluate.py; echo rc=$?; ls /mlgym/evaluator")
    assert out.count("rc=0") == 0, out
    # modules and start-up hooks the evaluator's Python could pick up if it trusted the agent
    site = ".local/lib/python3.11/site-packages"
    run(episode, f"mkdir -p {site}; for m in csv json usercustomize sitecustomize; do "
                 f"printf 'print(\"{{}}\"); raise SystemExit(0)\\n' | tee $m.py > {site}/$m.py; "
                 "done; mkdir -p /tmp/evaluator; cp $PWD/csv.py /tmp/evaluator/")
    assert_scored_correctly(episode)
    assert sha(EVALUATOR) == before


def test_data_cannot_be_changed(episode):
    folder = episode._prepare()[0]["fixture-numbers"]
    before = sha(folder / "numbers.csv")
    out = run(episode, "f=data/fixture-numbers/numbers.csv; echo 60,test,1 >> $f; echo rc=$?; "
                       "rm -f $f; echo rc=$?; chmod 666 $f; echo rc=$?; "
                       "touch data/fixture-numbers/new; echo rc=$?")
    assert out.count("rc=0") == 0, out
    # a look-alike data folder in the workspace does not change what the evaluator reads
    run(episode, "mv data data-orig; mkdir -p data/fixture-numbers data2/fixture-numbers; "
                 "echo 'id,split,x' | tee data/fixture-numbers/numbers.csv "
                 "> data2/fixture-numbers/numbers.csv")
    assert_scored_correctly(episode)
    assert sha(folder / "numbers.csv") == before


def test_hidden_labels_are_unreadable(episode):
    out = run(episode, f"cat /mlgym/hidden/labels.csv {HIDDEN}; "
                       "find / -name 'labels*' -not -path '/proc/*' 2>/dev/null; echo done")
    assert "id,label" not in out and "labels.csv\n" not in out.replace(f"{HIDDEN}:", "")
    assert out.endswith("done")
    assert_scored_correctly(episode)


def test_hidden_labels_of_an_installed_task_are_unreadable(isolating_backend, make_env):
    """A task installed with pip (not editable) keeps its files in site-packages."""
    package = Path(sysconfig.get_paths()["purelib"]) / f"mlgym_threat_probe_{uuid.uuid4().hex}"
    try:
        shutil.copytree(FIXTURES / "tasks" / "threshold", package)
        env = make_env(load_task(package / "task.yaml"), backend=isolating_backend)
        env.reset()
        out = run(env, f"cat {package}/hidden/labels.csv; ls {package}")
        assert "id,label" not in out and "59," not in out
        run(env, "python3 predict.py")
        assert_scored_correctly(env)
    finally:
        shutil.rmtree(package, ignore_errors=True)


def test_network_is_unreachable(episode):
    hits = []
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept():
        server.settimeout(15)
        try:
            hits.append(server.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    probe = ("import socket, sys\n"
             "for host in sys.argv[1:]:\n"
             "    try:\n"
             f"        socket.create_connection((host, {port}), timeout=3)\n"
             "        print('CONNECTED', host)\n"
             "    except OSError as exc: print('blocked', host, exc)\n")
    out = run(episode, f"python3 -c \"{probe}\" 127.0.0.1 1.1.1.1 8.8.8.8; "
                       "getent hosts pypi.org || echo no-dns")
    server.close()
    thread.join()
    assert "CONNECTED" not in out and not hits and "no-dns" in out
    assert_scored_correctly(episode)


def test_writes_outside_the_workspace_fail(episode):
    marker = f"escape-{uuid.uuid4().hex}"
    host_root = episode._workspace.root
    out = run(episode, f"for d in / /etc /usr /mlgym /home /home/agent/.. {host_root} "
                       f"{host_root}/run; do touch $d/{marker} 2>/dev/null && echo WROTE $d; "
                       f"done; echo {marker} > /tmp/{marker}; echo done")
    assert "WROTE" not in out and out.endswith("done")
    leaked = [p for p in ("/", "/etc", "/usr", "/home", "/tmp", str(host_root))
              if (Path(p) / marker).exists()]
    assert leaked == []
    assert_scored_correctly(episode)


def test_harness_cannot_be_killed_or_signalled(episode):
    me = os.getpid()
    out = run(episode, f"kill -STOP {me}; kill -9 {me}; kill -9 -1; pkill -9 -f pytest; "
                       "pkill -9 python; echo tried")
    # the harness is not in the sandbox's pid namespace, and nothing else is there to kill
    assert out.count(f"kill: ({me}) - No such process") == 2, out
    assert out.endswith("tried"), out
    assert run(episode, "echo alive").endswith("alive")
    assert_scored_correctly(episode)


def test_fork_bomb_is_contained(episode):
    run(episode, ":(){ :|:& };:")  # returns at once: the bomb runs in the background
    assert "alive" in run(episode, "echo alive")
    assert_scored_correctly(episode)  # while the bomb still runs in the sandbox
    # the agent can clean up its own sandbox (twice: forks in flight survive the first sweep)
    run(episode, "kill -9 -1; sleep 1; kill -9 -1")
    out = run(episode, "sleep 1; ps -e --no-headers | wc -l")
    count = out.strip().splitlines()[-1]  # bash may first say a fork had to be retried
    assert re.fullmatch(r"\d+", count) and int(count) < 10, out


def test_filling_the_workspace_disk_is_contained(episode):
    limit = episode.task.compute.disk_mb * 1024 * 1024
    out = run(episode, "dd if=/dev/zero of=big bs=1M count=4096 2>&1 | tail -1; "
                       "stat -c %s big")
    assert int(out.split()[-1]) <= limit
    run(episode, "rm -f big")
    assert_scored_correctly(episode)


@pytest.mark.parametrize("folder", ["~", "/tmp", "/dev/shm"])
def test_filling_other_writable_places_is_contained(episode, folder):
    limit = episode.task.compute.disk_mb * 1024 * 1024
    run(episode, f"for i in 1 2 3; do dd if=/dev/zero of={folder}/big$i bs=1M count=400; done")
    out = run(episode, "python3 -c \"import glob, os, sys\n"
                       "print(sum(os.path.getsize(p) for p in glob.glob(sys.argv[1] + '/big*')))\" "
                       f"{folder}")
    assert re.fullmatch(r"\d+", out) and int(out) <= limit, out
    run(episode, f"rm -f {folder}/big*")
    assert_scored_correctly(episode)


def test_memory_exhaustion_is_contained(episode):
    limit_mb = episode.task.compute.memory_mb
    out = run(episode, "python3 -c \"\nchunks = []\nwhile True:\n"
                       "    chunks.append(bytearray(64 * 1024 * 1024))\n"
                       "    print(len(chunks) * 64, flush=True)\n\"")
    reached = max(int(x) for x in out.split() if x.isdigit())
    assert reached <= limit_mb + 64
    assert run(episode, "echo alive").endswith("alive")
    assert_scored_correctly(episode)


def test_no_process_or_mount_survives_close(episode):
    token = f"{int(uuid.uuid4().int % 10**6) + 10**6}"
    run(episode, f"nohup sleep {token}1 >/dev/null 2>&1 & setsid sleep {token}2 & "
                 f"(sleep {token}3 &) ; python3 -c \"import os, time\nif os.fork() == 0:\n"
                 f"    os.setsid()\n    if os.fork() == 0:\n        time.sleep({token}4)\"; "
                 "disown -a; echo started")
    assert_scored_correctly(episode)
    root = episode._workspace.root

    def leftovers() -> list[str]:
        found = []
        for proc in procs.table():
            try:
                cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if token.encode() in cmdline:
                found.append(cmdline.decode(errors="replace"))
        return found

    assert leftovers(), "the background processes did not start"
    episode.close()
    assert leftovers() == []
    assert str(root) not in Path("/proc/mounts").read_text()
    assert not root.exists()
    if episode.backend == "docker":
        import docker

        client = docker.from_env()
        mine = [c for c in client.containers.list(all=True, filters={"label": "mlgym.sandbox"})
                if any(str(root) in (m.get("Source") or "") for m in c.attrs["Mounts"])]
        assert mine == []
