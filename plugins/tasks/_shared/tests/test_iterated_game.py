"""What every game task built on ``iterated_game.py`` guarantees, checked on each of them.

The published and baseline figures, seeding, splits, the hidden seed, the safeguards against a
meddling strategy, and the messages of failing strategies. Each task's own tests check the rules
of its game: what a move is, the payoff and the opponent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlgym.cli import main as mlgym_main
from mlgym.player import LIBRARY
from mlgym.plugins import get_registry
from mlgym.testing import run_evaluator

SHARED = Path(__file__).resolve().parents[1]
SHARED_MODULES = [SHARED / "iterated_game.py", SHARED / "game_player.py",
                  *sorted(LIBRARY.glob("mlgym_*.py"))]
MOVES = {  # task id -> two valid moves of the game, as Python source
    "prisoners-dilemma": ("0", "1"),
    "battle-of-sexes": ("0", "1"),
    "blotto": ("[20] * 6", "[30, 30, 30, 30, 0, 0]"),
}
PUBLISHED = {  # task id -> MLGym-Bench's baseline and best score (arXiv 2502.14499)
    "prisoners-dilemma": (2.3716, 2.634),
    "battle-of-sexes": (1.0227, 1.445),
    "blotto": (-0.248, 0.576),
}


@pytest.fixture(scope="module", params=sorted(MOVES))
def task(request):
    return get_registry(refresh=True).task(request.param)


@pytest.fixture
def moves(task) -> tuple[str, str]:
    return MOVES[task.id]


def strategy(*body: str, before: str = "") -> dict[str, str]:
    """A workspace holding a strategy.py whose row_strategy runs the lines of ``body``."""
    lines = "".join(f"    {line}\n" for line in body)
    return {"strategy.py": f"{before}def row_strategy(history):\n{lines}"}


@pytest.mark.parametrize("source", SHARED_MODULES, ids=lambda p: p.name)
def test_the_evaluator_carries_the_current_shared_modules(task, source):
    copy = task.evaluator_dir / source.name
    assert copy.is_file() and copy.read_bytes() == source.read_bytes(), (
        f"{copy} is missing or out of date: reinstall the task's package "
        f"(`pip install -e {task.root.parents[1]}`), whose setup.py copies {source}")


def test_the_task_is_valid_and_its_starter_reproduces_the_baseline(task):
    assert mlgym_main(["validate", str(task.source_file)]) == 0
    assert (task.paper_baseline["score"], task.paper_best["score"]) == PUBLISHED[task.id]
    assert task.primary_metric.name == "score" and task.primary_metric.higher_is_better
    assert set(task.splits) == {"dev", "test"} and (task.starter_dir / "strategy.py").is_file()
    score = run_evaluator(task, split="test", seed=task.seed).score()
    assert score == pytest.approx(task.baseline["score"], abs=1e-9)
    assert abs(score - task.paper_baseline["score"]) < 0.03


@pytest.mark.slow  # four evaluations per task
def test_scores_are_deterministic_and_splits_and_seeds_play_different_games(task):
    dev = [run_evaluator(task, split="dev").score() for _ in range(2)]
    test = run_evaluator(task, split="test").score()
    other_seed = run_evaluator(task, split="dev", seed=task.seed + 1).score()
    assert dev[0] == dev[1]
    assert len({dev[0], test, other_seed}) == 3


def test_an_unknown_split_is_refused(task):
    assert "MLGYM_SPLIT='train'" in run_evaluator(task, split="train").failure()


def test_without_the_secret_seed_games_differ_and_a_note_says_so(task):
    public = run_evaluator(task, hidden=False)
    assert "public seed" in public.stderr
    assert public.score() != run_evaluator(task).score()


def test_a_strategy_cannot_see_the_secret_steer_the_opponent_or_forge_the_metrics(task, moves):
    meddler = strategy(
        'assert "MLGYM_HIDDEN_DIR" not in os.environ, "the strategy sees the hidden data"',
        "random.seed(0)  # tries to fix the opponent's draws",
        "history.clear()  # tries to rewrite the record",
        "print('{\"score\": 100.0}')  # tries to forge the metrics line",
        f"return {moves[1]}", before="import os\nimport random\n")
    result = run_evaluator(task, meddler)
    assert result.score() == run_evaluator(task, strategy(f"return {moves[1]}")).score()
    assert result.stdout.count("\n") == 1


def test_a_strategy_using_numpy_is_reproducible(task, moves):
    import numpy  # noqa: F401  (of the game packages' test extra; the strategy imports it)

    source = strategy(f"return {moves[0]} if np.random.rand() < 0.5 else {moves[1]}",
                      before="import numpy as np\n")
    assert run_evaluator(task, source).score() == run_evaluator(task, source).score()


def test_scores_do_not_depend_on_whether_numpy_is_installed(task, tmp_path, monkeypatch):
    with_numpy = run_evaluator(task).score()
    (tmp_path / "numpy.py").write_text('raise ImportError("numpy is hidden for this test")\n')
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    assert run_evaluator(task).score() == with_numpy


def test_a_strategy_may_import_its_own_modules_and_leaves_no_bytecode(task, moves, tmp_path,
                                                                       monkeypatch):
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # the evaluator must see to it
    (tmp_path / "moves.py").write_text(f"MOVE = {moves[1]}\n")
    (tmp_path / "strategy.py").write_text(
        "from moves import MOVE\ndef row_strategy(history):\n    return MOVE\n")
    assert run_evaluator(task, tmp_path).score() == run_evaluator(
        task, strategy(f"return {moves[1]}")).score()
    assert not list(tmp_path.rglob("__pycache__")), "the evaluator wrote into the workspace"


FAILING = [  # (workspace, fragments of the message), with {move} a valid move
    (strategy("return {move} if len(history) < 2 else 1 // 0"),
     ["ZeroDivisionError", "game 1, round 3", "history [("]),
    (strategy("return history[5]"), ["IndexError", "game 1, round 1", "history []"]),
    (strategy("raise SystemExit(0)"), ["row_strategy raised SystemExit", "game 1, round 1"]),
    ({"strategy.py": "def row_strategy():\n    return {move}\n"}, ["TypeError", "row_strategy()"]),
    ({"strategy.py": "def strategy(history):\n    return {move}\n"},
     ["defines no function row_strategy"]),
    ({"strategy.py": "row_strategy = {move}\n"}, ["defines no function row_strategy"]),
    ({"strategy.py": "def row_strategy(history)\n    return {move}\n"},
     ["import_strategy raised SyntaxError", "strategy.py, line 1"]),
    ({"strategy.py": "import missing_module\n"}, ["import_strategy raised ModuleNotFoundError",
                                                  "missing_module"]),
    ({}, ["strategy.py not found"]),
]


@pytest.mark.parametrize("workspace, expected", FAILING)
def test_a_failing_strategy_fails_the_evaluation_with_a_clear_message(task, moves, workspace,
                                                                       expected):
    files = {name: text.format(move=moves[0]) for name, text in workspace.items()}
    result = run_evaluator(task, files)
    assert result.returncode == 1
    message = result.failure()
    assert message.startswith("evaluation failed:")
    assert all(fragment in message for fragment in expected), message
    # and the fixed-form line that is all the agent sees of it on the test split
    assert result.stdout.strip().startswith('{"failed": {"call": ')
