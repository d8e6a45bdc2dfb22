"""Evaluator of the language-modeling task: the referee computes the loss of the agent's model.

Runs under MLGym's evaluator protocol (working directory: this folder):
  MLGYM_DATA_DIR    the corpus, ``lm-corpus/`` (train*.bin, val.bin, corpus.json)
  MLGYM_HIDDEN_DIR  the held-out test tokens, ``<corpus>/test.bin``
  MLGYM_SPLIT       "dev" (val.bin, which the agent can read) or "test" (hidden)

The agent's model code and checkpoint never load here: they load in players (``player.py``),
fresh sandboxed processes that MLGym starts for each ``referee.connect()``. This process sends
them windows of ``context`` tokens and receives raw outputs, one vector of 50,257 values per
position, and computes the loss itself: log-softmax in float32 (so nothing the model returns is
trusted to be normalised), then the mean cross-entropy of the true next token over
``windows`` x ``context`` positions. Outputs of the wrong shape or type, or holding NaN or
infinities, fail the evaluation.

**Causality.** A model that reads the next token off its input would score near zero. So every
window is also sent in ``probes`` altered versions: from a random position ``c`` on, the tokens
are replaced by a run of tokens from elsewhere in the split, and the log-probabilities the model
gives to the true next tokens at positions before ``c`` must be those of the original window
within ``tolerance`` (nats). The cut positions come from the operating system's random source
and are never sent. Each player (``probes + 1`` of them, nothing shared between them) sees every
window exactly once, in one of its versions, the originals and altered ones shuffled together, so
no player holds two versions of a window to compare. A model whose output at a position depends
on later tokens fails with a message naming the window and position; one that does so rarely is
caught with a probability that grows with the number of windows and probes.

The settings (``context``, ``windows``, ``probes``, ``tolerance``, ``positions_per_call``,
``max_parameters``) come from the corpus's corpus.json. Prints one JSON line:
{"loss": nats per token, "parameters": the count the player reported}.
"""

from __future__ import annotations

import json
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import mlgym_referee as referee
import numpy as np
from shards import VOCAB_SIZE, ShardError, read_shard

HERE = Path(__file__).resolve().parent
DATASET = "lm-corpus"
LOCAL_PLAYER = [sys.executable, str(HERE / "player.py")]  # when run by hand, outside MLGym
DEFAULTS = {"context": 128, "windows": 32, "probes": 2, "tolerance": 0.01,
            "positions_per_call": 1024, "max_parameters": 200_000_000}


class EvaluationFailure(Exception):
    """The model cannot be scored; the message says why (an ``invalid`` answer of ``call``)."""

    def __init__(self, message: str, call: str = "logits"):
        super().__init__(message)
        self.call = call


@dataclass
class Version:
    """One version of a window as sent to a player: the original (cut None) or a probe."""

    window: int
    cut: int | None  # the first replaced position, or None for the original
    tokens: np.ndarray  # (context,) int64 inputs


@dataclass
class Evaluation:
    settings: dict
    windows: np.ndarray  # (windows, context + 1): inputs and their next tokens
    target_logprobs: dict = field(default_factory=dict)  # (window, cut) -> (context,) float64
    parameters: int = 0


def settings_of(corpus_dir: Path) -> dict:
    """The corpus's name and evaluation settings (corpus.json), over :data:`DEFAULTS`."""
    try:
        corpus = json.loads((corpus_dir / "corpus.json").read_text())
    except (OSError, ValueError) as exc:
        raise EvaluationFailure(f"cannot read the corpus settings: {exc}", "") from None
    return {**DEFAULTS, **corpus.get("evaluation", {}), "corpus": corpus["corpus"]}


def split_tokens(split: str, corpus_dir: Path, settings: dict) -> np.ndarray:
    if split == "dev":
        path = corpus_dir / "val.bin"
    elif split == "test":
        path = Path(os.environ.get("MLGYM_HIDDEN_DIR", "")) / settings["corpus"] / "test.bin"
    else:
        raise EvaluationFailure(f"unknown split {split!r}; this task has 'dev' and 'test'", "")
    if not path.is_file():
        raise EvaluationFailure(
            f"the {split} tokens ({path}) are missing; build the corpus with `python -m "
            f"mlgym_task_language_modeling.corpus {settings['corpus']}`", "")
    try:
        return np.asarray(read_shard(path), dtype=np.int64)
    except ShardError as exc:
        raise EvaluationFailure(str(exc), "") from None


def scored_windows(tokens: np.ndarray, count: int, context: int) -> np.ndarray:
    """``count`` evenly spaced windows of ``context + 1`` tokens: (count, context + 1)."""
    if len(tokens) < context + 1:
        raise EvaluationFailure(f"the split holds {len(tokens)} tokens, fewer than one window",
                                "")
    last = len(tokens) - context - 1
    starts = [i * last // max(1, count - 1) for i in range(count)]
    return np.stack([tokens[s:s + context + 1] for s in starts])


def probe(tokens: np.ndarray, window: np.ndarray, rng: random.Random) -> tuple[int, np.ndarray]:
    """A cut position c in [1, context) and the window's inputs with positions c.. replaced by a
    run of tokens from elsewhere in the split (the first replaced token differs)."""
    context = len(window) - 1
    inputs = window[:-1].copy()
    cut = rng.randrange(1, context)
    for _ in range(100):
        start = rng.randrange(0, len(tokens) - context)
        suffix = tokens[start:start + context - cut]
        if suffix[0] != inputs[cut]:
            break
    else:
        suffix = (inputs[cut:] + 1) % VOCAB_SIZE
    inputs[cut:] = suffix
    return cut, inputs


def players_plan(tokens: np.ndarray, windows: np.ndarray, probes: int,
                 rng: random.Random) -> list[list[Version]]:
    """What each of ``probes + 1`` players gets: every window once, originals and probes mixed."""
    versions = []
    for w, window in enumerate(windows):
        row = [Version(w, None, window[:-1].copy())]
        for _ in range(probes):
            cut, inputs = probe(tokens, window, rng)
            row.append(Version(w, cut, inputs))
        rng.shuffle(row)  # which player gets which version of this window
        versions.append(row)
    plan = [[row[p] for row in versions] for p in range(probes + 1)]
    for batch in plan:
        rng.shuffle(batch)
    return plan


def log_softmax_at(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """log-softmax(outputs)[..., targets], computed in float32: (windows, context) float64."""
    work = outputs.astype(np.float32)  # a copy: the exponentials overwrite it
    chosen = np.take_along_axis(work, targets[..., None], axis=-1)[..., 0].astype(np.float64)
    peak = work.max(axis=-1, keepdims=True)
    np.subtract(work, peak, out=work)
    np.exp(work, out=work)
    log_total = np.log(work.sum(axis=-1, dtype=np.float64))
    return chosen - peak[..., 0] - log_total


def run_player(evaluation: Evaluation, versions: list[Version]) -> None:
    """Send ``versions`` to one fresh player; record the log-probabilities of the true targets."""
    settings = evaluation.settings
    per_call = max(1, settings["positions_per_call"] // settings["context"])
    calls = [versions[i:i + per_call] for i in range(0, len(versions), per_call)]
    with referee.connect(local=LOCAL_PLAYER) as player:
        loaded = player.call("load", [[settings["max_parameters"]]])[0]
        if not isinstance(loaded, dict):
            raise EvaluationFailure("load must return a dict", "load")
        evaluation.parameters = max(evaluation.parameters, referee.check_int(
            loaded.get("parameters"), 0, settings["max_parameters"], call="load",
            what="the parameter count"))
        for i, batch in enumerate(calls):  # one call in flight while this process works
            if i == 0:
                player.send("logits", [[referee.encode_array(np.stack([v.tokens for v in batch]))]])
            if i + 1 < len(calls):
                player.send("logits", [[referee.encode_array(
                    np.stack([v.tokens for v in calls[i + 1]]))]])
            answer = player.receive()[0]
            outputs = referee.decode_array(
                answer, dtype="f", shape=(len(batch), settings["context"], VOCAB_SIZE),
                finite=True, call="logits", what="the model's outputs")
            targets = evaluation.windows[[v.window for v in batch], 1:]
            for version, row in zip(batch, log_softmax_at(outputs, targets), strict=True):
                evaluation.target_logprobs[(version.window, version.cut)] = row


def check_causality(evaluation: Evaluation) -> None:
    """Each probe's log-probabilities before its cut must match the original window's."""
    tolerance = evaluation.settings["tolerance"]
    for (window, cut), row in sorted(evaluation.target_logprobs.items(),
                                     key=lambda item: (item[0][0], item[0][1] or 0)):
        if cut is None:
            continue
        original = evaluation.target_logprobs[(window, None)]
        gaps = np.abs(row[:cut] - original[:cut])
        worst = int(gaps.argmax())
        if gaps[worst] > tolerance:
            raise EvaluationFailure(
                f"the model's output at position {worst} of window {window} changed by "
                f"{gaps[worst]:.3g} nats when only tokens from position {cut} on were changed "
                f"(tolerance {tolerance:g}): the output at a position must depend only on the "
                "tokens up to it")


def evaluate(split: str, corpus_dir: Path, rng: random.Random | None = None) -> dict:
    """Score the workspace's model on ``split``; raise EvaluationFailure or PlayerError."""
    settings = settings_of(corpus_dir)
    tokens = split_tokens(split, corpus_dir, settings)
    windows = scored_windows(tokens, settings["windows"], settings["context"])
    evaluation = Evaluation(settings, windows)
    rng = rng or random.SystemRandom()
    for number, versions in enumerate(players_plan(tokens, windows, settings["probes"], rng)):
        run_player(evaluation, versions)
        print(f"player {number + 1} of {settings['probes'] + 1}: {len(versions)} windows",
              file=sys.stderr)
    check_causality(evaluation)
    originals = np.stack([evaluation.target_logprobs[(w, None)] for w in range(len(windows))])
    return {"loss": round(float(-originals.mean()), 4), "parameters": evaluation.parameters}


def main() -> int:
    split = os.environ.get("MLGYM_SPLIT", "test")
    corpus_dir = Path(os.environ.get("MLGYM_DATA_DIR", "")) / DATASET
    try:
        metrics = evaluate(split, corpus_dir)
    except referee.PlayerError as exc:
        return referee.fail(exc)
    except EvaluationFailure as exc:
        if exc.call:  # the model's answer broke a rule: its call, in the fixed-form line
            return referee.fail(referee.PlayerError(exc.call, "invalid", str(exc)))
        return referee.fail(str(exc))
    print(json.dumps(metrics), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
