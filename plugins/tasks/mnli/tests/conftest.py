"""MNLI-format data built here: the columns and label feature of nyu-mll/multi_nli, sentences made
from templates so that the label follows from the pair."""

from __future__ import annotations

import random

import pytest

SUBJECTS = ["The man", "A woman", "The child", "An old farmer", "The teacher", "A doctor"]
ACTIONS = [("is playing a guitar", "is making music", "is sleeping"),
           ("is cooking dinner", "is preparing food", "is swimming in a lake"),
           ("is reading a book", "is looking at pages", "is running a marathon"),
           ("is driving a car", "is travelling", "is sitting still at home")]


def mnli_rows(count: int, seed: int) -> dict[str, list]:
    """``count`` pairs in MultiNLI's columns; every 10th has no gold label (-1)."""
    rng = random.Random(seed)
    columns: dict[str, list] = {k: [] for k in ("promptID", "pairID", "premise", "hypothesis",
                                                "genre", "label")}
    for n in range(count):
        subject = rng.choice(SUBJECTS)
        action, entailed, contradicted = rng.choice(ACTIONS)
        label = rng.randrange(3)
        hypothesis = {0: f"{subject} {entailed}.", 1: f"{subject} is happy.",
                      2: f"{subject} {contradicted}."}[label]
        columns["promptID"].append(n)
        columns["pairID"].append(f"{n}{'enc'[label]}")
        columns["premise"].append(f"{subject} {action}.")
        columns["hypothesis"].append(hypothesis)
        columns["genre"].append(rng.choice(["fiction", "government", "travel"]))
        columns["label"].append(-1 if n % 10 == 9 else label)
    return columns


@pytest.fixture(scope="session")
def mnli_like():
    """A datasets.DatasetDict with MultiNLI's three splits, features and label names."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    features = Features({"promptID": Value("int32"), "pairID": Value("string"),
                         "premise": Value("string"), "hypothesis": Value("string"),
                         "genre": Value("string"),
                         "label": ClassLabel(names=["entailment", "neutral", "contradiction"])})
    return DatasetDict({
        name: Dataset.from_dict(mnli_rows(count, seed), features=features)
        for name, count, seed in (("train", 300, 1), ("validation_matched", 60, 2),
                                  ("validation_mismatched", 50, 3))})
