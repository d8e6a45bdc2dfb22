"""The prisoners-dilemma task: registration, the evaluator's scores, errors and safeguards."""

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

TASK_ID = "prisoners-dilemma"
ALWAYS_DEFECT = "def row_strategy(history):\n    return 1\n"


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
    assert task.paper_baseline["score"] == 2.3716 and task.paper_best["score"] == 2.634
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


def test_always_defecting_beats_the_baseline(task, tmp_path):
    assert score_of(evaluate(task, ALWAYS_DEFECT, tmp_path)) > task.baseline["score"] + 0.1


def test_strategy_cannot_steer_the_opponent_or_corrupt_the_metrics_line(task, tmp_path):
    meddler = """
import random
def row_strategy(history):
    random.seed(0)                  # tries to fix the opponent's draws
    history.append((0, 0))          # tries to rewrite the record
    print('{"score": 5.0}')         # tries to forge the metrics line
    return 1
"""
    result = evaluate(task, meddler, tmp_path)
    assert result.stdout.count("\n") == 1
    assert score_of(result) == score_of(evaluate(task, ALWAYS_DEFECT, tmp_path))


def test_a_strategy_using_numpy_is_reproducible(task, tmp_path):
    pytest.importorskip("numpy")
    source = "import numpy as np\ndef row_strategy(history):\n    return int(np.random.rand() < 0.5)\n"
    assert score_of(evaluate(task, source, tmp_path)) == score_of(evaluate(task, source, tmp_path))


@pytest.mark.parametrize("source, expected", [
    ("def row_strategy(history):\n    return 2\n", ["returned 2", "game 1, round 1", "0 (cooperate)"]),
    ("def row_strategy(history):\n    return 1.0\n", ["returned 1.0", "integer 0"]),
    ("def row_strategy(history):\n    return None\n", ["returned None"]),
    ("def row_strategy(history):\n    return True\n", ["returned True"]),
    ("def row_strategy(history):\n    return 1 // (2 - len(history))\n",
     ["ZeroDivisionError", "game 1, round 3", "history [(0, "]),
    ("def strategy(history):\n    return 0\n", ["defines no function row_strategy"]),
    ("def row_strategy(history)\n    return 0\n", ["importing strategy.py failed", "SyntaxError"]),
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
    spec = importlib.util.spec_from_file_location("pd_opponent", task.evaluator_dir / "opponent.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name, history, expected", [
    ("tit_for_tat", [], 0), ("tit_for_tat", [(1, 0)], 1), ("tit_for_tat", [(1, 0), (0, 1)], 0),
    ("suspicious_tit_for_tat", [], 1), ("suspicious_tit_for_tat", [(0, 1)], 0),
    ("grim_trigger", [(0, 0), (1, 0), (0, 1)], 1), ("grim_trigger", [(0, 0), (0, 0)], 0),
    ("pavlov", [], 0), ("pavlov", [(1, 1)], 0), ("pavlov", [(0, 1)], 1),
    ("tit_for_two_tats", [(1, 0)], 0), ("tit_for_two_tats", [(1, 0), (1, 0)], 1),
    ("forgiving_tit_for_tat", [(0, 0), (1, 0)], 1), ("forgiving_tit_for_tat", [(1, 0), (1, 1)], 0),
    ("noisy_mostly_random", [], 1), ("always_cooperate", [(1, 1)], 0), ("always_defect", [], 1),
])
def test_opponent_strategies_follow_their_rules(task, name, history, expected):
    assert getattr(load_opponent(task), name)(history, Random(0)) == expected


def test_opponent_draws_among_eleven_strategies_and_is_random_where_it_should_be(task):
    opponent = load_opponent(task)
    assert len(opponent.STRATEGIES) == len(set(opponent.STRATEGIES)) == 11
    rng = Random(0)
    for name in ("uniform_random", "coin_flip"):
        moves = [getattr(opponent, name)([], rng) for _ in range(4000)]
        assert abs(sum(moves) / len(moves) - 0.5) < 0.05
    # after mutual cooperation only always-defect, the two coin flips and the noisy player
    # (1/6 defect + 0.1 opposite of the row's cooperation) can defect
    moves = [opponent.column_move([(0, 0)], rng) for _ in range(20000)]
    assert abs(sum(moves) / len(moves) - (1 + 0.5 + 0.5 + 1 / 6 + 0.1) / 11) < 0.01
