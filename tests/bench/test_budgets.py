"""The budgets of a whole run hold: total cost (against a priced model served over real HTTP),
total time, and the compute a task needs; run configs are checked with file and line."""

from __future__ import annotations

import json

import pytest
import yaml
from benchkit import mlgym, write_config
from fake_provider import FakeProvider, reply

from mlgym.bench.store import RunStore

LOOK = "I look around.\n```\nls\n```"


@pytest.fixture
def provider():
    with FakeProvider(fallback=reply(LOOK, usage=(500, 100))) as server:
        yield server


def test_the_runs_cost_limit_is_never_passed(tmp_path, bench_env, provider):
    # $1000 per million output tokens, 100 output tokens at most: every call costs at most
    # $0.10, and costs exactly that; $1.05 pays for ten calls and no eleventh may start
    agent = {"agent": "react", "model": "openai/fake-model", "api_base": provider.api_base,
             "settings": {"tools": [], "model": {
                 "max_tokens": 100, "price": {"input_per_mtok": 0, "output_per_mtok": 1000}}}}
    config = write_config(tmp_path, tasks=["prisoners-dilemma"], agents=[agent], seeds=4,
                          max_steps=8, cost_limit=1.05)
    done = mlgym("bench", "run", config, env=bench_env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(provider.requests) == 10  # without the run's limit: 4 episodes x 8 steps
    store = RunStore(tmp_path / "run")
    totals, rows = store.totals(), store.episodes()
    assert totals["cost"] == pytest.approx(1.0) and totals["cost"] <= 1.05
    assert sum(r.cost for r in rows) == pytest.approx(1.0)  # each episode's spending is kept
    ends = [r.exit_reason for r in rows]
    assert "cost_limit" in ends and set(ends) <= {"cost_limit", "max_steps"}, ends
    ledger = json.loads((tmp_path / "run" / "cost-ledger.json").read_text())
    assert ledger["spent"] == pytest.approx(1.0)
    assert "cost $1.0000 of $1.0500" in done.stdout


def test_no_episode_starts_after_the_total_time_limit(tmp_path, bench_env):
    config = write_config(tmp_path, tasks=["prisoners-dilemma"], seeds=2, total_time_limit=1e-6)
    done = mlgym("bench", "run", config, env=bench_env)
    assert done.returncode == 0, done.stderr
    assert "total time limit of 1e-06 s is reached: no more episodes start" in done.stdout
    assert "2 episodes: 0 done, 0 running, 0 failed, 2 pending" in done.stdout


def test_an_episode_that_cannot_fit_fails_at_once_with_the_reason(tmp_path, bench_env):
    config = write_config(tmp_path, tasks=["prisoners-dilemma"], seeds=1,
                          resources={"cpus": 0.5})
    done = mlgym("bench", "run", config, env=bench_env)
    assert done.returncode == 0, done.stderr
    status = mlgym("bench", "status", tmp_path / "run", env=bench_env)
    assert "1 failed" in status.stdout
    assert "its task needs 1 CPUs and the run has 0.5: raise resources.cpus" in status.stdout


def test_run_configs_are_checked_with_file_and_line(tmp_path, bench_env):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"tasks": ["prisoners-dilema", {"tag": "no-such-tag"}],
                                   "agents": [{"agent": "baseline"}, {"agent": "baseline"}],
                                   "seeds": 2, "parallel": 0}, sort_keys=False))
    checked = mlgym("validate", bad, env=bench_env)
    assert checked.returncode == 1
    assert f"{bad}:8:11: parallel: 0 is less than the minimum of 1" in checked.stderr
    fixed = yaml.safe_load(bad.read_text()) | {"parallel": 2}
    bad.write_text(yaml.safe_dump(fixed, sort_keys=False))
    for done in (mlgym("validate", bad, env=bench_env), mlgym("bench", "run", bad, env=bench_env)):
        assert done.returncode == 1
        assert f"{bad}:2:3: tasks[0]: unknown task 'prisoners-dilema'. Did you mean " \
               "'prisoners-dilemma'?" in done.stderr
        assert f"{bad}:3:3: tasks[1]: no installed task has tag 'no-such-tag'" in done.stderr
        assert f"{bad}:6:3: agents[1]: agents[0] has the same name 'baseline'" in done.stderr
    assert not (tmp_path / "results").exists()  # nothing ran


def test_a_config_valid_before_runs_stays_valid(tmp_path, bench_env):
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump({
        "schema_version": 1, "name": "paper", "tasks": ["prisoners-dilemma"],
        "agents": [{"agent": "react", "model": "openai/gpt-4o", "label": "gpt-4o"}],
        "seeds": [0, 1], "backend": "bwrap", "protocol": "mlgym", "parallel": 4, "out": "runs",
        "cost_limit": 10.0, "max_steps": 50, "time_limit": 3600}))
    checked = mlgym("validate", old, env=bench_env)
    assert checked.returncode == 0, checked.stderr
