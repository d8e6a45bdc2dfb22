"""What a dead MLGym process leaves behind is found and removed; nothing of a live one is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlgym.sandbox import leftovers

ROOT = Path(__file__).resolve().parents[2]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

DIE_WITH_A_MOUNT = """\
import os, subprocess, sys, tempfile
from pathlib import Path
from mlgym.sandbox import leftovers

folder = Path(tempfile.mkdtemp(prefix="mlgym-dead-", dir=sys.argv[1]))
leftovers.claim(folder)
(folder / "scratch").mkdir()
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "mlgym-test", str(folder / "scratch")],
               check=True)
(folder / "scratch" / "file").write_text("left behind")
print(folder, flush=True)
os._exit(0)
"""


def mount_points() -> str:
    return Path("/proc/self/mountinfo").read_text()


@needs_root
def test_a_dead_process_folder_and_its_mount_are_swept(tmp_path):
    done = subprocess.run([sys.executable, "-c", DIE_WITH_A_MOUNT, str(tmp_path)],
                          capture_output=True, text=True, check=True, timeout=60)
    folder = Path(done.stdout.strip())
    try:
        assert (folder / "scratch" / "file").exists()
        assert leftovers.mounts_below(folder) == [str(folder / "scratch")]
        assert leftovers.stale(tmp_path) == [folder]
        assert leftovers.sweep(tmp_path) == [folder]
        assert not folder.exists()
        assert str(folder) not in mount_points()
        assert leftovers.stale(tmp_path) == [] and leftovers.sweep(tmp_path) == []
    finally:  # should the sweep fail, leave no mount behind
        subprocess.run(["umount", "--lazy", str(folder / "scratch")], capture_output=True)


def test_live_and_unclaimed_folders_are_never_touched(tmp_path):
    mine = tmp_path / "mlgym-mine"
    unclaimed = tmp_path / "mlgym-unclaimed"
    garbled = tmp_path / "mlgym-garbled"
    for folder in (mine, unclaimed, garbled):
        folder.mkdir()
        (folder / "file").write_text("kept")
    leftovers.claim(mine)
    (garbled / leftovers.OWNER_FILE).write_text("not a pid\n")
    assert leftovers.owner_alive(mine) is True
    assert leftovers.owner_alive(unclaimed) is None and leftovers.owner_alive(garbled) is None
    assert leftovers.stale(tmp_path) == [] and leftovers.sweep(tmp_path) == []
    for folder in (mine, unclaimed, garbled):
        assert (folder / "file").read_text() == "kept"


def test_a_reused_pid_does_not_keep_a_folder(tmp_path):
    """A claim names the owner's pid and start time: another process with that pid is not it."""
    reused = tmp_path / "mlgym-reused"
    reused.mkdir()
    (reused / leftovers.OWNER_FILE).write_text(f"{os.getpid()} 1\n")  # started at tick 1: not us
    other = tmp_path / "other-prefix"  # only mlgym-* folders are looked at
    other.mkdir()
    (other / leftovers.OWNER_FILE).write_text(f"{os.getpid()} 1\n")
    assert leftovers.stale(tmp_path) == [reused]
    assert leftovers.sweep(tmp_path) == [reused]
    assert not reused.exists() and other.exists()


DIE_IN_AN_EPISODE = """\
import importlib.util, json, os, sys, tempfile
from pathlib import Path

spec = importlib.util.spec_from_file_location("fixture_plugin", sys.argv[1])
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
from mlgym.episode import MLGymEnv
from mlgym.plugins import get_registry
from mlgym.sandbox import leftovers

get_registry().register(plugin, name="mlgym-test-fixtures", distribution="mlgym-test-fixtures")
env = MLGymEnv("fixture-threshold", backend="bwrap")
env.reset(seed=0)
assert "predict.py" in env.step("ls")[0]
folders = [str(p) for p in Path(tempfile.gettempdir()).iterdir()
           if leftovers.owner_alive(p) is True]
print(json.dumps({f: leftovers.mounts_below(Path(f)) for f in folders}), flush=True)
os._exit(1)
"""


@pytest.mark.bwrap
def test_an_episode_killed_without_close_is_swept(tmp_path, require_backend):
    require_backend("bwrap")
    plugin = ROOT / "tests" / "fixtures" / "fixture_plugin.py"
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its folders land here, nowhere else
    done = subprocess.run([sys.executable, "-c", DIE_IN_AN_EPISODE, str(plugin)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and done.stdout.strip(), done.stderr
    left = {Path(folder): mounts for folder, mounts in json.loads(done.stdout).items()}
    try:
        assert len(left) >= 2  # the episode's folder and the sandbox's runtime folder
        assert any(mounts for mounts in left.values())  # the agent's tmpfs at least
        for folder, mounts in left.items():
            assert folder.exists()
            assert leftovers.mounts_below(folder) == mounts
        assert sorted(leftovers.sweep(tmp_path)) == sorted(left)
        text = mount_points()
        for folder in left:
            assert not folder.exists()
            assert str(folder) not in text
    finally:
        for mounts in left.values():
            for point in mounts:
                subprocess.run(["umount", "--lazy", point], capture_output=True)



DIE_IN_A_DOCKER_EPISODE = DIE_IN_AN_EPISODE.replace('backend="bwrap"', 'backend="docker"')


@pytest.mark.docker
def test_the_container_of_an_episode_killed_without_close_is_removed(tmp_path, require_backend):
    require_backend("docker")
    import docker as docker_sdk

    from mlgym.sandbox.docker import OWNER_LABEL

    client = docker_sdk.from_env()

    def ours() -> set[str]:
        return {c.name for c in client.containers.list(all=True, filters={"label": OWNER_LABEL})}

    before = ours()
    plugin = ROOT / "tests" / "fixtures" / "fixture_plugin.py"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", DIE_IN_A_DOCKER_EPISODE, str(plugin)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and done.stdout.strip(), done.stderr
    left = ours() - before
    assert left, "the killed episode's container should still be there before the sweep"
    leftovers.sweep(tmp_path)
    assert not (ours() & left)
