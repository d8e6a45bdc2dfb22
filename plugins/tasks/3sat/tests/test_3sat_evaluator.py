"""The 3sat evaluator as MLGym runs it: baseline, determinism, and every way a heuristic fails."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlgym_task_3sat.scripts import generate_instances as gen

from mlgym.cli import main as mlgym_main
from mlgym.plugins import get_registry
from mlgym.testing import EvaluatorRun, run_evaluator

TASK_ID = "3sat"


@pytest.fixture(scope="module")
def task():
    return get_registry(refresh=True).task(TASK_ID)


def dev_instances() -> list[dict]:
    path = Path(gen.__file__).resolve().parents[1] / "evaluator" / "instances" / "dev.json.gz"
    return json.loads(gzip.decompress(path.read_bytes()))["instances"]


def hidden_set(tmp_path: Path, instances: list[dict]) -> Path:
    """A hidden folder whose test set is ``instances`` (real dev instances, so quick to run)."""
    folder = tmp_path / "hidden"
    folder.mkdir()
    gen.write_split(folder, {"format": gen.FORMAT, "split": "test", "seed": 0,
                             "instances": instances}, gen.NUM_VARS)
    return folder


@pytest.fixture
def small_hidden(tmp_path):
    return hidden_set(tmp_path, dev_instances()[:4])


def workspace_with(tmp_path: Path, heuristic: str | None, **extra: str) -> Path:
    workspace = tmp_path / "workspace"
    workspace.mkdir(parents=True)
    if heuristic is not None:
        (workspace / "heuristic.py").write_text(heuristic)
    for name, text in extra.items():
        (workspace / f"{name}.py").write_text(text)
    return workspace


def metrics_of(result: EvaluatorRun) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def failure_of(result: EvaluatorRun) -> str:
    assert result.returncode != 0, result.stdout
    return result.stderr


def starter(task) -> str:
    return (task.starter_dir / "heuristic.py").read_text()


def test_task_is_installed_with_its_metrics_and_paper_figures(task):
    assert [m.name for m in task.metrics] == ["time", "decisions", "backtracks"]
    assert task.player is not None and task.player.command == ("python", "player.py")
    assert task.primary_metric.name == "time" and not task.primary_metric.higher_is_better
    assert task.paper_baseline["time"] == 16.158 and task.paper_best["time"] == 11.894
    assert set(task.splits) == {"dev", "test"} and task.submission_files == ("heuristic.py",)
    assert mlgym_main(["validate", str(Path(__file__).parents[1])]) == 0


@pytest.mark.slow
def test_starter_heuristic_reproduces_the_baseline_counts(task, tmp_path):
    workspace = workspace_with(tmp_path, starter(task))
    result = run_evaluator(task, workspace, hidden=task.hidden_dir)
    metrics = metrics_of(result)
    assert metrics["decisions"] == task.baseline["decisions"]
    assert metrics["backtracks"] == task.baseline["backtracks"]
    assert metrics["time"] > 0
    runs = [line.split(":")[0] for line in result.stderr.splitlines() if line.startswith("run ")]
    assert runs == ["run 1", "run 2", "run 3"]


def test_counts_are_deterministic_given_the_seed(task, tmp_path, small_hidden):
    workspace = workspace_with(tmp_path, starter(task))
    first = metrics_of(run_evaluator(task, workspace, hidden=small_hidden, seed=0))
    again = metrics_of(run_evaluator(task, workspace, hidden=small_hidden, seed=0))
    other = metrics_of(run_evaluator(task, workspace, hidden=small_hidden, seed=1))
    assert (first["decisions"], first["backtracks"]) == (again["decisions"], again["backtracks"])
    assert (first["decisions"], first["backtracks"]) != (other["decisions"], other["backtracks"])


def test_a_better_heuristic_needs_fewer_decisions(task, tmp_path, small_hidden):
    shortest_clause_first = (
        "def heuristic_fn(clauses, assignment, info):\n"
        "    shortest = min(clauses, key=len)\n"
        "    counts = {}\n"
        "    for clause in clauses:\n"
        "        for lit in clause:\n"
        "            counts[abs(lit)] = counts.get(abs(lit), 0) + 1\n"
        "    var = max((abs(l) for l in shortest), key=lambda v: (counts[v], -v))\n"
        "    return var, True\n")
    base = metrics_of(run_evaluator(task, workspace_with(tmp_path / "a", starter(task)),
                                    hidden=small_hidden))
    better = metrics_of(run_evaluator(task, workspace_with(tmp_path / "b", shortest_clause_first),
                                      hidden=small_hidden))
    assert better["decisions"] < base["decisions"] / 2


def test_prints_and_helper_modules_in_the_workspace_are_fine(task, tmp_path, small_hidden):
    heuristic = ("from helper import pick\n"
                 "def heuristic_fn(clauses, assignment, info):\n"
                 "    print('choosing', info)\n"
                 "    return pick(clauses), False\n")
    helper = "def pick(clauses):\n    return abs(clauses[0][0])\n"
    metrics = metrics_of(run_evaluator(task, workspace_with(tmp_path, heuristic, helper=helper),
                                       hidden=small_hidden))
    assert metrics["decisions"] > 0


@pytest.mark.parametrize("heuristic, message", [
    (None, "heuristic.py not found in the workspace"),
    ("def choose(clauses, assignment, info):\n    return 1, True\n",
     "heuristic.py defines no function heuristic_fn"),
    ("def heuristic_fn(clauses, assignment, info):\n    return 1 / 0\n",
     "instance dev-000-sat: solve raised ZeroDivisionError"),
    ("def heuristic_fn(clauses, assignment, info):\n    return abs(clauses[0][0]), 'yes'\n",
     "heuristic_fn returned value 'yes'"),
    ("def heuristic_fn(clauses, assignment, info):\n    return 1, True\n",
     "heuristic_fn returned variable 1, which is already assigned"),
    ("def heuristic_fn(clauses, assignment, info):\n    raise SystemExit(3)\n",
     "instance dev-000-sat: solve raised SystemExit"),
    ("import os\ndef heuristic_fn(clauses, assignment, info):\n    os._exit(3)\n",
     "instance dev-000-sat: the player ended without answering solve"),
])
def test_a_broken_heuristic_fails_with_a_message(task, tmp_path, small_hidden, heuristic,
                                                 message):
    result = run_evaluator(task, workspace_with(tmp_path, heuristic), hidden=small_hidden)
    assert message in failure_of(result)


@pytest.mark.parametrize("forged, message", [
    (b"not json", "the answer to import_heuristic is not valid JSON"),
    (b'{"id": 1, "results": [null]}\n{"id": 2, "results": [{"sat": true}]}',
     "instance dev-000-sat: the player's answer lacks 'model'"),
    (b'{"id": 7, "results": [null]}', "the answer to import_heuristic is not a reply to it"),
])
def test_forged_player_answers_fail_cleanly(task, tmp_path, small_hidden, forged, message):
    # the heuristic writes on every socket it holds, the channel to the referee among them
    line = forged + b"\n"
    heuristic = ("import os, stat\n"
                 "for fd in range(3, 64):\n"
                 "    try:\n"
                 "        if stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
                 f"            os.write(fd, {line!r})\n"
                 "            break\n"
                 "    except OSError:\n"
                 "        pass\n"
                 "def heuristic_fn(clauses, assignment, info):\n"
                 "    return abs(clauses[0][0]), True\n")
    result = run_evaluator(task, workspace_with(tmp_path, heuristic), hidden=small_hidden)
    assert message in failure_of(result)


def test_a_heuristic_that_changes_the_clauses_is_caught(task, tmp_path, small_hidden):
    heuristic = ("def heuristic_fn(clauses, assignment, info):\n"
                 "    del clauses[1:]\n"
                 "    return abs(clauses[0][0]), True\n")
    error = failure_of(run_evaluator(task, workspace_with(tmp_path, heuristic),
                                     hidden=small_hidden))
    # the first instance the solver meets is satisfiable: the solver's answer, found on the
    # clipped clauses, leaves one of the full instance's clauses unsatisfied
    assert re.search(r"instance dev-000-sat: the assignment returned leaves clause \[[-\d, ]+\] "
                     r"unsatisfied", error), error


def test_a_solver_patched_to_claim_unsat_is_caught_by_the_replay(task, tmp_path):
    unsat_only = hidden_set(tmp_path, [i for i in dev_instances()[:6] if not i["satisfiable"]])
    heuristic = ("import dpll\n"
                 "dpll.DPLLSolver.solve = lambda self: dpll.Result(False, {}, 0, 0, [])\n"
                 "def heuristic_fn(clauses, assignment, info):\n"
                 "    return abs(clauses[0][0]), True\n")
    error = failure_of(run_evaluator(task, workspace_with(tmp_path, heuristic), hidden=unsat_only))
    assert "instance dev-000-unsat: replaying the 0 recorded decisions" in error


def test_a_solver_patched_to_claim_a_model_is_caught(task, tmp_path, small_hidden):
    heuristic = ("import dpll\n"
                 "dpll.DPLLSolver.solve = lambda self: dpll.Result(True, {1: True}, 0, 0, [])\n"
                 "def heuristic_fn(clauses, assignment, info):\n"
                 "    return abs(clauses[0][0]), True\n")
    error = failure_of(run_evaluator(task, workspace_with(tmp_path, heuristic),
                                     hidden=small_hidden))
    assert "instance dev-000-sat: the assignment returned leaves clause" in error


def test_a_nondeterministic_heuristic_is_refused(task, tmp_path, small_hidden):
    heuristic = ("import os\n"
                 "def heuristic_fn(clauses, assignment, info):\n"
                 "    variables = sorted({abs(l) for c in clauses for l in c})\n"
                 "    return variables[os.urandom(1)[0] % len(variables)], True\n")
    error = failure_of(run_evaluator(task, workspace_with(tmp_path, heuristic),
                                     hidden=small_hidden))
    assert "made different decisions than run 1" in error and "deterministic" in error


def test_a_runaway_heuristic_is_stopped_at_the_instance_time_limit(task, tmp_path, small_hidden):
    workspace = workspace_with(tmp_path, "def heuristic_fn(clauses, assignment, info):\n"
                                         "    while True:\n        pass\n")
    code = ("import sys; from pathlib import Path\n"
            "import mlgym_referee\n"
            "from evaluate import evaluate\n"
            "try:\n"
            f"    evaluate(Path({str(small_hidden / 'test.json.gz')!r}), 0, "
            "instance_limit=1.0)\n"
            "except mlgym_referee.PlayerError as exc:\n    sys.exit(str(exc))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=task.evaluator_dir,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "MLGYM_WORKSPACE": str(workspace)})
    assert "instance dev-000-sat: solve gave no answer within 1 s" in failure_of(result)


def test_a_corrupted_instance_file_is_refused(task, tmp_path, small_hidden):
    path = small_hidden / "test.json.gz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    error = failure_of(run_evaluator(task, workspace_with(tmp_path, starter(task)),
                                     hidden=small_hidden))
    assert "test.json.gz has sha256" in error and "regenerate" in error


def test_an_unknown_split_is_refused(task, tmp_path, small_hidden):
    result = run_evaluator(task, workspace_with(tmp_path, starter(task)), hidden=small_hidden,
                           split="train")
    assert "unknown split 'train'" in failure_of(result)
