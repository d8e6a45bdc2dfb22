"""The referee computes the loss itself: honest models score what an independent computation
gives, hostile ones fail or score honestly (run without a sandbox; test_episodes.py repeats the
decisive cases in real sandboxes)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import lm_models as models
import pytest
import torch

from mlgym.testing import run_evaluator

TASK = "language-modeling"


def workspace(tmp_path: Path, source: str) -> Path:
    folder = tmp_path / "workspace"
    (folder / "checkpoint").mkdir(parents=True)
    (folder / "model.py").write_text(source)
    (folder / "checkpoint/README").write_text("nothing to load\n")
    return folder


def independent_loss(source: str, windows, tmp_path: Path) -> float:
    """The mean next-token cross-entropy of the model in ``source``, computed here with torch."""
    path = tmp_path / "independent_model.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("independent_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load_model(str(tmp_path))
    with torch.no_grad():
        tokens = torch.from_numpy(windows)
        logits = model(tokens[:, :-1]).double()
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1),
                                                 tokens[:, 1:].flatten()).item()


def evaluate(tmp_path, corpus, source, split="test"):
    return run_evaluator(TASK, workspace(tmp_path, source), split=split, hidden=corpus.hidden,
                         data_dir=corpus.data)


@pytest.mark.parametrize("split", ["test", "dev"])
def test_an_honest_model_scores_its_independently_computed_loss(tmp_path, small_corpus, split):
    run = evaluate(tmp_path, small_corpus, models.HONEST, split)
    assert run.scores is not None, run.stderr
    expected = independent_loss(models.HONEST, small_corpus.windows(split), tmp_path)
    assert run.scores["loss"] == pytest.approx(expected, abs=2e-3)
    assert run.scores["parameters"] == 2 * 8 * 50257


def test_the_two_splits_score_different_text(tmp_path, small_corpus):
    test = evaluate(tmp_path, small_corpus, models.HONEST, "test").scores["loss"]
    dev = evaluate(tmp_path / "dev", small_corpus, models.HONEST, "dev").scores["loss"]
    assert test != dev


@pytest.mark.parametrize("source", [models.LOOK_AHEAD, models.PAIR_AWARE],
                         ids=["look-ahead", "look-ahead-unless-paired"])
def test_a_model_that_reads_later_tokens_fails(tmp_path, small_corpus, source):
    run = evaluate(tmp_path, small_corpus, source)
    assert run.scores is None
    assert "must depend only on the tokens up to it" in run.stderr, run.stderr
    assert '{"failed": {"call": "logits", "kind": "invalid"' in run.stdout


@pytest.mark.parametrize("source, expected", [
    (models.CONSTANT_ONE_HOT, None),  # computed below
    (models.UNNORMALISED, math.log(50257)),  # zeros: the uniform distribution
    (models.SHIFTED, None),  # the honest model's loss: the shift is normalised away
], ids=["constant-one-hot", "all-zeros", "shifted-log-probabilities"])
def test_outputs_that_are_not_honest_probabilities_are_normalised_by_the_referee(
        tmp_path, small_corpus, source, expected):
    run = evaluate(tmp_path, small_corpus, source)
    assert run.scores is not None, run.stderr
    if expected is None:
        expected = independent_loss(source, small_corpus.windows(), tmp_path)
    assert run.scores["loss"] == pytest.approx(expected, rel=1e-3, abs=2e-3)
    assert run.scores["loss"] > 10.8  # none beats the uniform distribution (ln 50257 = 10.825)


@pytest.mark.parametrize("source, message", [
    (models.NAN, "holds NaN or infinite values"),
    (models.WRONG_SHAPE, "the model returned a tensor of shape (2, 32, 1000)"),
    (models.TOO_BIG, "this task allows at most 2,000,000"),
    ("def load_model(folder):\n    raise OSError('no checkpoint')\n", "OSError: no checkpoint"),
], ids=["nan", "wrong-shape", "too-many-parameters", "load-fails"])
def test_a_broken_model_fails_with_a_message(tmp_path, small_corpus, source, message):
    run = evaluate(tmp_path, small_corpus, source)
    assert run.scores is None
    assert message in run.stderr, run.stderr


def test_the_tolerance_allows_the_noise_of_float16_outputs_and_batching(tmp_path, small_corpus):
    # the honest model evaluated again: probes and originals travel in other batches of other
    # players, yet agree within the tolerance (the evaluation above would have failed otherwise)
    runs = [evaluate(tmp_path / str(i), small_corpus, models.HONEST).scores for i in range(2)]
    assert runs[0] == runs[1]


def test_a_missing_test_split_says_how_to_build_it(tmp_path, small_corpus):
    (small_corpus.hidden / "shakespeare/test.bin").unlink()
    run = evaluate(tmp_path, small_corpus, models.HONEST)
    assert run.scores is None
    assert "python -m mlgym_task_language_modeling.corpus shakespeare" in run.stderr


def test_the_probes_change_tokens_only_from_their_cut_on():
    sys.path.insert(0, str(Path(models.__file__).parent))
    import random

    import numpy as np
    from evaluate import players_plan

    tokens = np.arange(1000, dtype=np.int64) % 50257
    windows = np.stack([tokens[s:s + 17] for s in (0, 100, 200, 300)])
    plan = players_plan(tokens, windows, 2, random.Random(1))
    assert len(plan) == 3
    for batch in plan:  # each player sees every window once
        assert sorted(v.window for v in batch) == [0, 1, 2, 3]
    versions = [v for batch in plan for v in batch]
    for v in versions:
        original = windows[v.window, :-1]
        if v.cut is None:
            assert (v.tokens == original).all()
        else:
            assert 1 <= v.cut < 16
            assert (v.tokens[:v.cut] == original[:v.cut]).all()
            assert v.tokens[v.cut] != original[v.cut]
    assert sum(v.cut is None for v in versions) == 4
