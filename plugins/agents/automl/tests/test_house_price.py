"""On house-price, in bubblewrap, from the command line: the search beats the baseline, and a
report sets it beside the baseline agent and a scripted LLM agent."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from mlgym.plugins import get_registry
from mlgym.testing import require_backend

TASK = "house-price"


def mlgym(*args: str) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "mlgym", *args], capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run


def episode(out, agent: str, *extra: str) -> dict:
    mlgym("run", "--task", TASK, "--agent", agent, "--backend", require_backend("bwrap"),
          "--out", str(out), "--quiet", *extra)
    return json.loads((out / "result.json").read_text())


def r2(result: dict) -> float:
    return result["submission"]["scores"]["r2"]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_search_beats_the_baseline_and_the_report_sets_it_beside_the_others(tmp_path):
    baseline = get_registry().task(TASK).baseline["r2"]
    runs = tmp_path / "runs"
    # 14 steps: the starter's setting and five more trials (the default budget is 50)
    searched = episode(runs / "automl", "automl", "--max-steps", "14")
    assert searched["exit_reason"] == "submitted"
    assert searched["steps"] <= 14
    assert r2(searched) > baseline + 0.01

    assert r2(episode(runs / "baseline", "baseline")) == pytest.approx(baseline, abs=1e-4)
    replies = tmp_path / "replies.yaml"
    replies.write_text(json.dumps([
        "I try a weaker penalty.\n```\nsed -i 's/^ALPHA = 10.0/ALPHA = 2.0/' baseline.py\n```",
        "Refit.\n```\npython baseline.py\n```", "Done.\n```\nsubmit\n```"]))
    llm = episode(runs / "react", "react", "--model", f"scripted:{replies}")
    assert llm["exit_reason"] == "submitted"

    out = tmp_path / "report"
    mlgym("report", str(runs), "--out", str(out), "--bootstrap", "0")
    text = (out / "report.md").read_text()
    assert "## LLM gain over search" in text and "automl ‡" in text
    with open(out / "search_gain.csv") as f:
        gains = {row["method"]: row for row in csv.DictReader(f)}
    assert set(gains) == {llm["method"]}  # neither the search itself nor the baseline
    paper_best = get_registry().task(TASK).paper_best["r2"]
    expected = (r2(llm) - r2(searched)) / (paper_best - baseline)
    assert float(gains[llm["method"]]["gain"]) == pytest.approx(expected, rel=1e-6)
