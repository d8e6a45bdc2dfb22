"""The export that turns MultiNLI (hub ``nyu-mll/multi_nli``) into the dataset ``multi-nli``.

MLGym calls :func:`export` with the hub dataset (a ``datasets.DatasetDict``) when the dataset is
first needed (``datasets/multi-nli/dataset.yaml``); it writes:

    train.jsonl       id, premise, hypothesis, genre, label: the training pairs
    dev.jsonl         id, premise, hypothesis, genre: validation_mismatched
    test.jsonl        id, premise, hypothesis, genre: validation_matched
    dev_labels.csv    id,label of dev.jsonl    (hidden: evaluators only)
    test_labels.csv   id,label of test.jsonl   (hidden: evaluators only)

Labels are MultiNLI's: 0 entailment, 1 neutral, 2 contradiction. Pairs without a gold label
(label -1) are left out. The test split is validation_matched, whose accuracy the paper reports;
the dev split (for the strict protocol) is validation_mismatched.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

REPOSITORY = "nyu-mll/multi_nli"
LABELS = ("entailment", "neutral", "contradiction")  # MultiNLI's ClassLabel order
SPLITS = {"train": "train", "dev": "validation_mismatched", "test": "validation_matched"}


def rows(split: Iterable[Mapping], prefix: str) -> list[dict]:
    """The pairs of one split that have a gold label, numbered ``<prefix>-<n>``."""
    out = []
    for n, row in enumerate(split):
        if row["label"] not in (0, 1, 2):
            continue
        out.append({"id": f"{prefix}-{n}", "premise": row["premise"],
                    "hypothesis": row["hypothesis"], "genre": row.get("genre", ""),
                    "label": int(row["label"])})
    return out


def export(dataset: Mapping[str, Iterable[Mapping]], out: Path) -> None:
    """Write the dataset's five files into ``out`` from ``dataset`` (MultiNLI's three splits)."""
    out = Path(out)
    for name, source in SPLITS.items():
        pairs = rows(dataset[source], name)
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for pair in pairs:
                shown = pair if name == "train" else {k: v for k, v in pair.items()
                                                      if k != "label"}
                f.write(json.dumps(shown, ensure_ascii=False) + "\n")
        if name != "train":
            with open(out / f"{name}_labels.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["id", "label"])
                writer.writerows((pair["id"], pair["label"]) for pair in pairs)
