"""Fixtures: the Shakespeare corpus (built once if this checkout lacks it), small evaluation
corpora cut from it, and the workspaces of models honest and hostile."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mlgym_task_language_modeling as plugin
import numpy as np
import pytest
import yaml
from mlgym_task_language_modeling import corpus as corpus_module

PACKAGE = Path(plugin.__file__).parent
sys.path.insert(0, str(PACKAGE / "evaluator"))
sys.path.insert(0, str(Path(__file__).parent))  # lm_models
from shards import read_shard, write_shard  # noqa: E402

# A small evaluation: 6 windows of 32 tokens, 2 probes each, 2 windows per call.
SMALL = {"context": 32, "windows": 6, "probes": 2, "tolerance": 0.01, "positions_per_call": 64,
         "max_parameters": 2_000_000}


def declared_files() -> dict[str, str]:
    dataset = yaml.safe_load((PACKAGE / "datasets/shakespeare/dataset.yaml").read_text())
    return {f["name"]: f["sha256"] for f in dataset["files"]}


@pytest.fixture(scope="session")
def shakespeare() -> Path:
    """The package folder with the Shakespeare corpus built and matching its checksums."""
    data = PACKAGE / "datasets/shakespeare"
    built = all(corpus_module._sha256(data / name) == digest
                for name, digest in declared_files().items())
    if not built or not (PACKAGE / "hidden/shakespeare/test.bin").exists():
        corpus_module.build_shakespeare()
    return PACKAGE


class SmallCorpus:
    """A data folder and a hidden folder as the evaluator gets them, with :data:`SMALL`'s
    settings and the first tokens of the real dev and test splits."""

    def __init__(self, root: Path, package: Path, settings: dict):
        self.data = root / "data"
        self.hidden = root / "hidden"
        corpus = self.data / "lm-corpus"
        corpus.mkdir(parents=True)
        (self.hidden / "shakespeare").mkdir(parents=True)
        self.settings = settings
        (corpus / "corpus.json").write_text(json.dumps(
            {"corpus": "shakespeare", "tokenizer": "gpt2", "evaluation": settings}))
        source = package / "datasets/shakespeare"
        write_shard(corpus / "train.bin", read_shard(source / "train.bin")[:4000])
        write_shard(corpus / "val.bin", read_shard(source / "val.bin")[:3000])
        write_shard(self.hidden / "shakespeare/test.bin",
                    read_shard(package / "hidden/shakespeare/test.bin")[:3000])

    def tokens(self, split: str) -> np.ndarray:
        path = (self.data / "lm-corpus/val.bin" if split == "dev"
                else self.hidden / "shakespeare/test.bin")
        return np.asarray(read_shard(path), dtype=np.int64)

    def windows(self, split: str = "test") -> np.ndarray:
        """The scored windows, found here independently of the evaluator: evenly spaced."""
        tokens, context, count = self.tokens(split), self.settings["context"], \
            self.settings["windows"]
        starts = [i * (len(tokens) - context - 1) // (count - 1) for i in range(count)]
        return np.stack([tokens[s:s + context + 1] for s in starts])


@pytest.fixture
def small_corpus(tmp_path, shakespeare) -> SmallCorpus:
    return SmallCorpus(tmp_path / "corpus", shakespeare, SMALL)
