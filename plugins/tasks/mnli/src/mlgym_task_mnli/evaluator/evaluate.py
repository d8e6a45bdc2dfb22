"""Evaluator of the mnli task: accuracy of predictions.csv against the hidden labels.

Runs under MLGym's evaluator protocol (working directory: this folder):
  MLGYM_WORKSPACE   a snapshot of predictions.csv
  MLGYM_DATA_DIR    _hidden/multi-nli/{dev,test}_labels.csv: id,label of validation_mismatched
                    and validation_matched (the dataset's hidden files)
  MLGYM_SPLIT       "dev" or "test"

The agent's code never runs here: this reads a CSV of ids and labels (0 entailment, 1 neutral,
2 contradiction; the names are accepted too). Every id of the split must have exactly one
prediction; rows of the other split are ignored. Prints {"accuracy": percent}.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

LABELS = {"0": 0, "1": 1, "2": 2, "entailment": 0, "neutral": 1, "contradiction": 2}
MAX_BYTES = 64 << 20
HIDDEN = "_hidden/multi-nli"


class SubmissionError(Exception):
    """predictions.csv cannot be scored; the message says why."""


def read_labels(path: Path) -> dict[str, int]:
    with open(path, newline="") as f:
        return {row["id"]: int(row["label"]) for row in csv.DictReader(f)}


def read_predictions(path: Path, wanted: set[str]) -> dict[str, int]:
    """{id: label} of ``path`` for the ids in ``wanted``, checked."""
    if not path.is_file():
        raise SubmissionError("predictions.csv not found in the workspace (run python train.py)")
    if path.stat().st_size > MAX_BYTES:
        raise SubmissionError(f"predictions.csv is larger than {MAX_BYTES >> 20} MiB")
    predictions: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != ["id", "label"]:
            raise SubmissionError(f"predictions.csv must start with the header id,label, not "
                                  f"{','.join(header or [])[:80]!r}")
        for line, row in enumerate(reader, start=2):
            if len(row) != 2:
                raise SubmissionError(f"predictions.csv line {line}: expected 2 columns")
            ident, label = row[0].strip(), row[1].strip().lower()
            if ident not in wanted:
                continue
            if label not in LABELS:
                raise SubmissionError(f"predictions.csv line {line}: label {row[1][:40]!r} is "
                                      "not 0, 1, 2 or entailment, neutral, contradiction")
            if ident in predictions:
                raise SubmissionError(f"predictions.csv line {line}: {ident} is predicted twice")
            predictions[ident] = LABELS[label]
    missing = wanted - set(predictions)
    if missing:
        raise SubmissionError(f"predictions.csv lacks {len(missing)} of the {len(wanted)} ids, "
                              f"e.g. {sorted(missing)[0]}")
    return predictions


def accuracy(labels: dict[str, int], predictions: dict[str, int]) -> float:
    right = sum(predictions[ident] == label for ident, label in labels.items())
    return round(100.0 * right / len(labels), 4)


def main() -> int:
    split = os.environ.get("MLGYM_SPLIT", "test")
    if split not in ("dev", "test"):
        print(f"evaluation failed: unknown split {split!r}", file=sys.stderr)
        return 1
    labels_file = Path(os.environ.get("MLGYM_DATA_DIR", "")) / HIDDEN / f"{split}_labels.csv"
    if not labels_file.is_file():
        print(f"evaluation failed: the {split} labels ({labels_file}) are missing",
              file=sys.stderr)
        return 1
    labels = read_labels(labels_file)
    workspace = Path(os.environ.get("MLGYM_WORKSPACE", "."))
    try:
        predictions = read_predictions(workspace / "predictions.csv", set(labels))
    except SubmissionError as exc:
        print(f"evaluation failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"accuracy": accuracy(labels, predictions)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
