"""Scoring a classification submission: submission.csv (id,label) against hidden labels.

Shared by the image-classification tasks' evaluators (copied into each evaluator folder at build
time). Standard library only.

submission.csv has the header ``id,label`` and one row per image: ``test-<i>`` for the i-th test
image and ``train-<i>`` for the held-out training images that the dev split scores. Each row of
the split being scored must be there exactly once; rows of the other split are allowed and
ignored. Anything else (a missing or repeated id, an id of neither split, a label that is not an
integer class number, a row with another number of values) fails the evaluation with a message
naming the first bad row.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

HEADER = ["id", "label"]


class SubmissionError(Exception):
    """The submission cannot be scored; the message tells the agent why."""


def read_submission(path: Path, known: Callable[[str], bool], classes: int) -> dict[str, int]:
    """{id: label} from ``path``; ``known(id)`` says whether an id belongs to some split."""
    if not path.is_file():
        raise SubmissionError(f"{path.name} not found in the workspace; write it with the header "
                              "id,label (the starter's train.py writes one)")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise SubmissionError(f"{path.name} is empty; its first line must be id,label")
    if [cell.strip() for cell in rows[0]] != HEADER:
        raise SubmissionError(f"{path.name} line 1: the header must be id,label, found "
                              f"{','.join(rows[0])!r}")
    predictions: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise SubmissionError(f"{path.name} line {line}: expected 2 values (id,label), found "
                                  f"{len(row)}")
        image, text = row[0].strip(), row[1].strip()
        if not known(image):
            raise SubmissionError(f"{path.name} line {line}: unknown id {image!r} (ids are "
                                  "test-<i> for the test images and train-<i> for the held-out "
                                  "training images)")
        if image in predictions:
            raise SubmissionError(f"{path.name} line {line}: id {image} appears more than once")
        try:
            label = int(text)
        except ValueError:
            raise SubmissionError(f"{path.name} line {line}: label {text!r} is not an integer "
                                  f"class number 0-{classes - 1}") from None
        if not 0 <= label < classes:
            raise SubmissionError(f"{path.name} line {line}: label {label} is not a class number "
                                  f"0-{classes - 1}")
        predictions[image] = label
    return predictions


def accuracy(predictions: Mapping[str, int], truth: Mapping[str, int], what: str) -> float:
    """The share of ``truth`` predicted right; every id of ``truth`` must have a prediction."""
    missing = [image for image in truth if image not in predictions]
    if missing:
        raise SubmissionError(f"submission.csv lacks {len(missing)} of the {len(truth)} {what}, "
                              f"the first being {missing[0]}; predict every one of them")
    return sum(predictions[image] == label for image, label in truth.items()) / len(truth)


def ids(prefix: str, labels, start: int = 0) -> dict[str, int]:
    """{"<prefix>-<start + i>": label} for a sequence of labels."""
    return {f"{prefix}-{start + i}": int(label) for i, label in enumerate(labels)}


def main(truth: Callable[[str], dict[str, int]], known: Callable[[str], bool], *,
         classes: int = 10, what: Mapping[str, str]) -> int:
    """The evaluator: ``truth(split)`` gives the labels of the split scored; prints the metrics."""
    split = os.environ.get("MLGYM_SPLIT", "test")
    if split not in what:
        print(f"evaluation failed: unknown split {split!r}; this task has "
              f"{', '.join(sorted(what))}", file=sys.stderr)
        return 1
    workspace = Path(os.environ["MLGYM_WORKSPACE"])
    try:
        predictions = read_submission(workspace / "submission.csv", known, classes)
        score = accuracy(predictions, truth(split), what[split])
    except SubmissionError as exc:
        print(f"evaluation failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"accuracy": round(score, 6)}))
    return 0
