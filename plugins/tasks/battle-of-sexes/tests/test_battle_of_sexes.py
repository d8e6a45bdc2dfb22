"""The battle-of-sexes task: registration, the evaluator's scores, errors and safeguards."""

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

TASK_ID = "battle-of-sexes"
ALWAYS_0 = "def row_strategy(history):\n    return 0\n"


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
    assert task.paper_baseline["score"] == 1.0227 and task.paper_best["score"] == 1.445
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


def test_insisting_on_0_beats_the_baseline_and_nears_its_expectation(task, tmp_path):
    # the opponent opens with 1 (payoff 0), then meets at 0 in 80% of the 9 later rounds
    score = score_of(evaluate(task, ALWAYS_0, tmp_path))
    assert score > task.baseline["score"] + 0.3
    assert score == pytest.approx(9 * 0.8 * 2 / 10, abs=0.01)


def test_strategy_cannot_steer_the_opponent_or_corrupt_the_metrics_line(task, tmp_path):
    meddler = """
import random
def row_strategy(history):
    random.seed(0)                  # tries to fix the opponent's draws
    history.append((0, 0))          # tries to rewrite the record
    print('{"score": 2.0}')         # tries to forge the metrics line
    return 0
"""
    result = evaluate(task, meddler, tmp_path)
    assert result.stdout.count("\n") == 1
    assert score_of(result) == score_of(evaluate(task, ALWAYS_0, tmp_path))


def test_a_strategy_using_numpy_is_reproducible(task, tmp_path):
    pytest.importorskip("numpy")
    source = "import numpy as np\ndef row_strategy(history):\n    return int(np.random.rand() < 0.5)\n"
    assert score_of(evaluate(task, source, tmp_path)) == score_of(evaluate(task, source, tmp_path))


@pytest.mark.parametrize("source, expected", [
    ("def row_strategy(history):\n    return -1\n", ["returned -1", "game 1, round 1", "integer 0 or 1"]),
    ("def row_strategy(history):\n    return '0'\n", ["returned '0'"]),
    ("def row_strategy(history):\n    return 0.0\n", ["returned 0.0"]),
    ("def row_strategy(history):\n    return [0]\n", ["returned [0]"]),
    ("def row_strategy(history):\n    return history[1][0]\n", ["IndexError", "game 1, round 1"]),
    ("import missing_module\n", ["importing strategy.py failed", "ModuleNotFoundError"]),
    ("row_strategy = 0\n", ["defines no function row_strategy"]),
    (None, ["strategy.py not found"]),
])
def test_invalid_strategies_fail_with_a_clear_message(task, tmp_path, source, expected):
    result = evaluate(task, source, tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("evaluation failed:")
    for fragment in expected:
        assert fragment in last_line


def load_opponent(task):
    spec = importlib.util.spec_from_file_location("bos_opponent", task.evaluator_dir / "opponent.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("opening", [0, 1])
def test_opponent_opens_with_1_then_follows_the_row_players_opening(task, opening):
    opponent, rng = load_opponent(task), Random(0)
    assert opponent.column_move([], rng) == 1
    # later rounds depend on the row player's first move only, not on the last one
    history = [(opening, 1), (1 - opening, 0), (1 - opening, 1)]
    moves = [opponent.column_move(history, rng) for _ in range(20000)]
    assert abs(moves.count(opening) / len(moves) - 0.8) < 0.01
