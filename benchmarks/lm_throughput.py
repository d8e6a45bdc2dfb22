"""Tokens per second of the language-modeling task on this machine: the referee's evaluation
(player start, load, the round trips of every window and probe, log-softmax in the referee) and
the starter's training.

    python benchmarks/lm_throughput.py [--iterations 20]

The evaluation scores the starter's model at initialisation (its cost does not depend on the
weights) on the test split of the Shakespeare corpus, with the players as plain subprocesses
(``mlgym.testing.run_evaluator``; a sandbox adds only its start-up per player). Build the corpus
first: ``python -m mlgym_task_language_modeling.corpus shakespeare``. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlgym_task_language_modeling as plugin

from mlgym.testing import run_evaluator

PACKAGE = Path(plugin.__file__).parent


def workspace(folder: Path) -> Path:
    for name in ("model.py", "train.py"):
        shutil.copy(PACKAGE / "starter" / name, folder / name)
    (folder / "data").symlink_to(PACKAGE / "datasets/shakespeare")
    return folder


def evaluation(folder: Path) -> None:
    subprocess.run([sys.executable, "-c", "from model import GPT, GPTConfig, save_model; "
                    "save_model(GPT(GPTConfig()), 'checkpoint')"], cwd=folder, check=True)
    settings = json.loads((PACKAGE / "datasets/shakespeare/corpus.json").read_text())
    settings = settings["evaluation"]
    scored = settings["windows"] * settings["context"]
    sent = scored * (settings["probes"] + 1)
    start = time.perf_counter()
    run = run_evaluator("language-modeling", folder)
    seconds = time.perf_counter() - start
    if run.scores is None:
        raise SystemExit(f"the evaluation failed: {run.stderr[-2000:]}")
    print(f"referee evaluation: {scored} scored positions ({sent} sent, with "
          f"{settings['probes']} probes per window, {settings['probes'] + 1} players) in "
          f"{seconds:.1f} s: {scored / seconds:,.0f} scored tokens/s, {sent / seconds:,.0f} "
          "tokens/s through the players")


def training(folder: Path, iterations: int) -> None:
    env = {**os.environ, "ITERATIONS": str(iterations)}
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "train.py"], cwd=folder, env=env, capture_output=True,
                         text=True, check=True)
    seconds = time.perf_counter() - start
    rates = re.findall(r"([\d,]+) tokens/s", run.stdout)
    print(f"starter training ({iterations} iterations of the cpu configuration): "
          f"{rates[-1]} tokens/s as train.py measures it, {seconds:.1f} s with start-up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
          "(figures measured on a busy machine are lower)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = workspace(Path(tmp))
        evaluation(folder)
        training(folder, args.iterations)
    return 0


if __name__ == "__main__":
    sys.exit(main())
