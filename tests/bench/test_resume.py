"""A benchmark run killed with ``kill -9`` resumes without losing or repeating an episode, and
Ctrl-C stops one cleanly: the CLI in subprocesses, as a user runs it."""

from __future__ import annotations

import json
import os
import signal

from benchkit import (
    alive,
    claimed_by,
    hanging_replies,
    mlgym,
    processes_inside,
    start,
    wait_until,
    worker_pids,
    write_config,
)

from mlgym.bench.store import RunStore

SLEEPER = "sleep 600"


def rows(run):
    store = RunStore(run)
    try:
        return {row.key: row for row in store.episodes()}
    finally:
        store.close()


def count(run, state: str) -> int:
    return sum(row.state == state for row in rows(run).values()) if (run / "bench.sqlite").exists() else 0


def trajectory(folder) -> dict:
    return json.loads((folder / "trajectory.json").read_text())


def sleepers(pid: int) -> list[int]:
    """The hanging sandbox commands of the run ``pid``'s workers."""
    return processes_inside(claimed_by(worker_pids(pid)), SLEEPER)


def test_a_run_killed_mid_way_resumes_to_exactly_its_18_episodes(tmp_path, bench_env):
    run = tmp_path / "run"
    cue = tmp_path / "resumed"  # until it exists, the scripted agent's first command hangs
    config = write_config(tmp_path, hanging_replies(cue))  # 3 tasks x 2 agents x 3 seeds
    process = start("bench", "run", config, env=bench_env)
    try:
        wait_until(lambda: count(run, "done") >= 3 and len(sleepers(process.pid)) == 2,
                   300, "three episodes done and two hanging", process)
        finished = {key: trajectory(run / "episodes" / key)["started_at"]
                    for key, row in rows(run).items() if row.state == "done"}
        workers = worker_pids(process.pid)
        hanging = sleepers(process.pid)
        for pid in [process.pid, *workers]:  # the run and its workers die at once
            os.kill(pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    left = claimed_by(workers)
    assert len(alive(hanging)) == 2 and left  # the killed run's sandboxes are still there
    assert sorted(row.state for row in rows(run).values()).count("running") == 2

    cue.touch()
    resumed = mlgym("bench", "run", config, env=bench_env)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "resuming: 2 episodes were cut off" in resumed.stdout
    assert "18 episodes: 18 done, 0 running, 0 failed, 0 pending" in resumed.stdout

    after = rows(run)
    assert len(after) == 18 and {row.state for row in after.values()} == {"done"}
    written = sorted(p.parent.name for p in (run / "episodes").glob("*/result.json"))
    assert written == sorted(after)  # one result per episode, no more
    for key, started_at in finished.items():  # finished before the kill: neither lost nor re-run
        assert after[key].attempts == 1
        assert trajectory(run / "episodes" / key)["started_at"] == started_at
    cut = {key: row for key, row in after.items() if row.interrupted}
    assert len(cut) == 2
    for key, row in cut.items():
        assert key.startswith("prisoners-dilemma__react-scripted__") and row.attempts == 2
        [kept] = row.interrupted
        assert trajectory(run / kept)["exit_reason"] == "interrupted"
        assert trajectory(run / kept)["steps"] == []  # cut off in its first command
        assert (run / kept / "INTERRUPTED.json").exists()
        assert trajectory(run / "episodes" / key)["exit_reason"] == "submitted"
    assert alive(hanging) == []  # the resume cleaned up after the killed run
    assert [folder for folder in left if folder.exists()] == []

    report = mlgym("report", run, "--out", tmp_path / "report", "--bootstrap", "0", env=bench_env)
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    assert "18 episodes of 2 method(s) on 3 task(s)" in text  # the cut-off attempts are not episodes
    for name in ["baseline", "react:scripted", "prisoners-dilemma", "battle-of-sexes", "blotto"]:
        assert name in text


def test_ctrl_c_stops_the_run_and_its_sandboxes(tmp_path, bench_env):
    run = tmp_path / "run"
    config = write_config(tmp_path, hanging_replies(tmp_path / "never"),
                          tasks=["prisoners-dilemma"], seeds=2)
    process = start("bench", "run", config, env=bench_env)
    try:
        wait_until(lambda: len(sleepers(process.pid)) == 2, 300,
                   "both scripted episodes hanging", process)
        workers, hanging = worker_pids(process.pid), sleepers(process.pid)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=180)
    finally:
        process.kill()
    assert process.returncode == 130, output[-3000:]
    assert f"interrupted; resume with: mlgym bench run {run}" in output
    assert alive(hanging) == [] and alive(workers) == []  # stopped, not left for a later sweep
    assert claimed_by(workers) == []
    states = rows(run)
    hung = {k: r for k, r in states.items() if "react" in k}
    assert {r.state for r in hung.values()} == {"pending"}  # they run again on resume
    for row in hung.values():
        [kept] = row.interrupted
        assert trajectory(run / kept)["exit_reason"] == "interrupted"

    status = mlgym("bench", "status", run, env=bench_env)
    assert status.returncode == 0, status.stderr
    assert "2 pending" in status.stdout and "2 interrupted attempts" in status.stdout
    assert "running now" not in status.stdout  # nothing holds the run any more

    report = mlgym("report", run, "--out", tmp_path / "report", "--bootstrap", "0", env=bench_env)
    assert report.returncode == 0, report.stderr
    assert "benchmark run, 4 episodes from its store" in report.stdout
    text = (tmp_path / "report" / "report.md").read_text()
    assert "4 episodes of 2 method(s) on 1 task(s)" in text  # the interrupted two included
