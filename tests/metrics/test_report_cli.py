"""``mlgym report`` run as a user runs it, with the installed metric plugins."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import matplotlib.image
import pytest

EXPECTED_PNGS = ["aup_profiles.png", "aup_bars.png", "aup_cost.png", "exit_reasons.png",
                 "action_kinds.png", "action_kinds_by_step.png"]


def mlgym(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlgym", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_report_on_a_folder_of_results_beside_the_paper(tmp_path, results_dir, published_file):
    out = tmp_path / "report"
    done = mlgym("report", results_dir, "--published", published_file, "--out", out,
                 "--bootstrap", "50", "--seed", "1")
    assert done.returncode == 0, done.stderr
    assert "react:model-a" in done.stdout and "report.md" in done.stdout
    for name in ["report.md", "scores.csv", "aup.csv", "aup_ci.csv", *EXPECTED_PNGS]:
        assert (out / name).is_file(), name
    for name in EXPECTED_PNGS:
        pixels = matplotlib.image.imread(out / name)
        assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 300
        assert pixels.std() > 0.01  # not a blank canvas
    with (out / "aup.csv").open() as f:
        assert f.readline().strip() == "method,best_attempt_aup,best_submission_aup"
    rows = read_csv(out / "aup.csv")
    assert {"react:model-a", "react:model-b", "gpt-o1", "baseline"} <= {r["method"] for r in rows}
    tau_max = 1.5
    assert all(0 < float(r["best_attempt_aup"]) <= tau_max for r in rows)
    # how the episodes ended, as the records say (one .jsonl file holds some of them)
    records = [json.loads(p.read_text()) for p in results_dir.rglob("result.json")]
    records += [json.loads(line) for line in (results_dir / "extra.jsonl").read_text().split("\n")
                if line.strip()]
    ends = {(r["method"], r["exit_reason"]): int(r["count"])
            for r in read_csv(out / "exit_reasons.csv")}
    assert ends == Counter((r["method"], r["exit_reason"]) for r in records)
    assert sum(ends.values()) == 18


def test_published_only_reproduces_the_paper_table(tmp_path, published_file):
    out = tmp_path / "paper"
    done = mlgym("report", "--published", published_file, "--out", out)
    assert done.returncode == 0, done.stderr
    with (out / "aup.csv").open() as f:
        assert f.readline().strip() == "method,best_attempt_aup,best_submission_aup"
    expected = json.loads(published_file.read_text())["aup"]
    rows = {r["method"]: r for r in read_csv(out / "aup.csv")}
    assert set(rows) == set(expected)
    for method, values in expected.items():
        assert float(rows[method]["best_attempt_aup"]) == pytest.approx(values["best_attempt"], abs=0.002)
        assert float(rows[method]["best_submission_aup"]) == pytest.approx(values["best_submission"], abs=0.002)
    assert matplotlib.image.imread(out / "aup_profiles.png").shape[0] > 200


def test_unknown_task_names_it_and_the_fix(tmp_path):
    record = {"schema_version": 1, "task": "no-such-task-xyz", "method": "m", "seed": 0,
              "evaluations": [], "submission": None, "exit_reason": "error"}
    (tmp_path / "result.json").write_text(json.dumps(record))
    done = mlgym("report", tmp_path / "result.json", "--out", tmp_path / "out")
    assert done.returncode == 1
    assert "no-such-task-xyz" in done.stderr and "--published" in done.stderr


def test_bad_invocations_explain_themselves(tmp_path, published_file):
    done = mlgym("report", "--out", tmp_path / "out")
    assert done.returncode == 1 and "nothing to report" in done.stderr
    done = mlgym("report", "--published", published_file, "--out", tmp_path / "o", "--metrics", "aupp")
    assert done.returncode == 1 and "Did you mean 'aup'" in done.stderr
    done = mlgym("report", "--published", published_file, "--out", tmp_path / "o", "--reference", "x")
    assert done.returncode == 1 and "TASK=VALUE" in done.stderr
