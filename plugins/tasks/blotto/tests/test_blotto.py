"""The blotto task: registration, the evaluator's scores, errors and safeguards."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from random import Random

import pytest
from mlgym.cli import main as mlgym_main
from mlgym.plugins import get_registry

TASK_ID = "blotto"
FOUR_FIELDS = "def row_strategy(history):\n    return [30, 30, 30, 30, 0, 0]\n"


@pytest.fixture(scope="module")
def task():
    return get_registry(refresh=True).task(TASK_ID)


def evaluate(task, strategy: str | None, tmp_path: Path, split: str = "test", seed: int = 0,
             hidden: bool = True) -> subprocess.CompletedProcess:
    """Run the task's evaluator on a workspace holding ``strategy`` as MLGym does."""
    workspace = tmp_path / f"ws{len(list(tmp_path.iterdir()))}"
    workspace.mkdir()
    if strategy is not None:
        (workspace / "strategy.py").write_text(strategy)
    env = {**os.environ, "MLGYM_WORKSPACE": str(workspace), "MLGYM_DATA_DIR": str(tmp_path),
           "MLGYM_SPLIT": split, "MLGYM_SEED": str(seed)}
    env.pop("MLGYM_HIDDEN_DIR", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the evaluator itself must not write bytecode
    if hidden:
        env["MLGYM_HIDDEN_DIR"] = str(task.hidden_dir)
    command = [sys.executable if part == "python" else part for part in task.evaluator_command]
    return subprocess.run(command, cwd=task.evaluator_dir, env=env, capture_output=True, text=True,
                          timeout=task.evaluator_timeout)


def score_of(result: subprocess.CompletedProcess) -> float:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])["score"]


def starter(task) -> str:
    return (task.starter_dir / "strategy.py").read_text()


def test_task_is_installed_with_its_metric_and_paper_figures(task):
    assert task.primary_metric.name == "score" and task.primary_metric.higher_is_better
    assert task.paper_baseline["score"] == -0.248 and task.paper_best["score"] == 0.576
    assert set(task.splits) == {"dev", "test"}
    assert (task.starter_dir / "strategy.py").is_file()
    assert mlgym_main(["validate", str(Path(__file__).parents[1])]) == 0


def test_starter_strategy_reproduces_the_baseline(task, tmp_path):
    score = score_of(evaluate(task, starter(task), tmp_path, split="test", seed=task.seed))
    assert score == pytest.approx(task.baseline["score"], abs=1e-9)
    assert abs(score - task.paper_baseline["score"]) < 0.03
    assert not list(tmp_path.rglob("__pycache__")), "the evaluator wrote into the workspace"


@pytest.mark.slow  # four evaluations
def test_scores_are_deterministic_and_splits_play_different_games(task, tmp_path):
    dev = [score_of(evaluate(task, starter(task), tmp_path, split="dev")) for _ in range(2)]
    test = score_of(evaluate(task, starter(task), tmp_path, split="test"))
    other_seed = score_of(evaluate(task, starter(task), tmp_path, split="dev", seed=1))
    assert dev[0] == dev[1]
    assert len({dev[0], test, other_seed}) == 3


def test_an_unknown_split_is_refused(task, tmp_path):
    result = evaluate(task, starter(task), tmp_path, split="train")
    assert result.returncode != 0 and "MLGYM_SPLIT='train'" in result.stderr


def test_without_the_secret_seed_games_differ_and_a_note_says_so(task, tmp_path):
    public = evaluate(task, starter(task), tmp_path, hidden=False)
    assert "public seed" in public.stderr
    assert score_of(public) != score_of(evaluate(task, starter(task), tmp_path))


def test_massing_on_four_battlefields_beats_the_baseline(task, tmp_path):
    assert score_of(evaluate(task, FOUR_FIELDS, tmp_path)) > task.baseline["score"] + 0.3


def test_sending_no_soldiers_loses_every_round(task, tmp_path):
    # valid (at most 120 soldiers) but wins no battlefield; the opponent always holds one
    nothing = "def row_strategy(history):\n    return (0, 0, 0, 0, 0, 0)\n"
    assert score_of(evaluate(task, nothing, tmp_path)) == -1.0


def test_strategy_cannot_steer_the_opponent_or_corrupt_the_metrics_line(task, tmp_path):
    meddler = """
import random
def row_strategy(history):
    random.seed(0)                  # tries to fix the opponent's draws
    history.append(((0,) * 6, (0,) * 6))  # tries to rewrite the record
    print('{"score": 1.0}')         # tries to forge the metrics line
    return [30, 30, 30, 30, 0, 0]
"""
    result = evaluate(task, meddler, tmp_path)
    assert result.stdout.count("\n") == 1
    assert score_of(result) == score_of(evaluate(task, FOUR_FIELDS, tmp_path))


def test_a_strategy_using_numpy_is_reproducible(task, tmp_path):
    pytest.importorskip("numpy")
    source = ("import numpy as np\ndef row_strategy(history):\n"
              "    return np.random.multinomial(120, [1 / 6] * 6)\n")
    assert score_of(evaluate(task, source, tmp_path)) == score_of(evaluate(task, source, tmp_path))


def strategy_returning(expression: str) -> str:
    return f"def row_strategy(history):\n    return {expression}\n"


@pytest.mark.parametrize("source, expected", [
    (strategy_returning("[20] * 5"), ["returned [20, 20, 20, 20, 20]", "game 1, round 1",
                                      "6 battlefields, not 5"]),
    (strategy_returning("[21] * 6"), ["uses 126 soldiers, more than the 120"]),
    (strategy_returning("[-10, 50, 20, 20, 20, 20]"), ["negative"]),
    (strategy_returning("[20.0] * 6"), ["whole numbers"]),
    (strategy_returning("[True] * 6"), ["whole numbers"]),
    (strategy_returning("120"), ["returned 120", "a list of 6 integers"]),
    (strategy_returning("'20,20,20,20,20,20'"), ["a list of 6 integers"]),
    (strategy_returning("[20] * 6 if len(history) < 4 else [0] * 7"), ["game 1, round 5"]),
    (strategy_returning("history[-1][1] if history else None.x"), ["AttributeError", "round 1"]),
    ("def row_strategy():\n    return [20] * 6\n", ["TypeError", "row_strategy()"]),
    (None, ["strategy.py not found"]),
])
def test_invalid_allocations_fail_with_a_clear_message(task, tmp_path, source, expected):
    result = evaluate(task, source, tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("evaluation failed:")
    for fragment in expected:
        assert fragment in last_line


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("row, column, payoff", [
    ((30, 30, 30, 30, 0, 0), (20,) * 6, 1),          # 4 battlefields won, 2 lost
    ((10, 10, 10, 0, 0, 0), (0, 0, 0, 10, 10, 10), 0),  # 3 against 3
    ((21, 20, 20, 20, 20, 19), (20,) * 6, 0),        # 1 against 1, the rest tied
    ((20, 20, 20, 20, 20, 21), (20,) * 6, 1),        # ties count for nobody
    ((0,) * 6, (120, 0, 0, 0, 0, 0), -1),
])
def test_a_round_pays_the_player_who_wins_more_battlefields(task, monkeypatch, row, column, payoff):
    opponent = load_module(task.evaluator_dir / "opponent.py", "blotto_opponent")
    monkeypatch.setitem(sys.modules, "opponent", opponent)  # what evaluate.py imports
    evaluator = load_module(task.evaluator_dir / "evaluate.py", "blotto_evaluate")
    assert evaluator.row_payoff(row, column) == payoff
    assert evaluator.row_payoff(column, row) == -payoff


def test_opponent_spends_exactly_120_soldiers_spread_evenly_on_average(task):
    opponent, rng = load_module(task.evaluator_dir / "opponent.py", "blotto_opponent"), Random(0)
    allocations = [opponent.column_move([], rng) for _ in range(5000)]
    assert all(len(a) == 6 and sum(a) == 120 and min(a) >= 0 for a in allocations)
    for field in range(6):
        assert abs(sum(a[field] for a in allocations) / len(allocations) - 20) < 1
