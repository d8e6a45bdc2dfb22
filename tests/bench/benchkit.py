"""What the benchmark-run tests share: run configs, the CLI as a subprocess, and what a run
leaves on the machine.

What a run leaves behind is told apart from anything else on the machine by the processes that
made it: every sandbox folder is claimed by the worker that made it (``.mlgym-owner``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

CLI = [sys.executable, "-m", "mlgym"]
# three cheap tasks: a baseline episode of each takes a second or two
TASKS = ["prisoners-dilemma", "battle-of-sexes", "blotto"]
SUBMIT = "The starter code is my submission.\n```\nsubmit\n```"


def hanging_replies(marker: Path) -> list[str]:
    """Scripted replies whose first command sleeps until ``marker`` exists, then submits."""
    return [f"I wait for my cue.\n```\ntest -e {marker} || sleep 600\n```", SUBMIT]


def write_config(folder: Path, replies: list[str] | None = None, **settings) -> Path:
    """A run config in ``folder`` (run folder ``folder/run``): the baseline agent, plus a react
    agent with scripted ``replies`` when given; ``settings`` override the rest."""
    agents: list[dict] = [{"agent": "baseline"}]
    if replies is not None:
        (folder / "replies.yaml").write_text(yaml.safe_dump(replies))
        agents.append({"agent": "react", "model": "scripted:replies.yaml",
                       "settings": {"tools": []}})
    data = {"name": "test-bench", "out": "run", "tasks": TASKS, "agents": agents, "seeds": 3,
            "backend": "local", "parallel": 2, **settings}
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def mlgym(*args, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout)


def start(*args, env: dict) -> subprocess.Popen:
    """``mlgym *args`` as a terminal starts it: SIGINT at its default even when this test run
    was started in the background (``cmd &`` ignores SIGINT, and children inherit that)."""
    return subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_until(condition, timeout: float, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the run ended before {what}:\n{process.stdout.read()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def claimed_by(pids: list[int]) -> list[Path]:
    """The sandbox folders under the temporary directory that processes ``pids`` made."""
    found = []
    for folder in Path(tempfile.gettempdir()).glob("mlgym-*"):
        try:
            owner = int((folder / ".mlgym-owner").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if owner in pids:
            found.append(folder)
    return found


def processes_inside(folders: list[Path], command: str | None = None) -> list[int]:
    """Processes working inside one of ``folders`` (their cwd), running ``command`` if given."""
    roots = [os.path.realpath(f) for f in folders]
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if any(cwd == root or cwd.startswith(root + "/") for root in roots):
            if command is None or _cmdline(int(entry.name)) == command:
                found.append(int(entry.name))
    return found


def alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            running.append(pid)
    return running


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, their children...)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def worker_pids(pid: int) -> list[int]:
    """The benchmark workers the run ``pid`` started."""
    return [p for p in descendants(pid) if "mlgym.bench.worker" in _cmdline(p)]
