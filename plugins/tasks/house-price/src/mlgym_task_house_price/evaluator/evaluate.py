"""Evaluator of the house-price task: scores submission.csv against the hidden sale prices.

Runs under MLGym's evaluator protocol (working directory: this folder):
  MLGYM_WORKSPACE   the agent's workspace, holding submission.csv
  MLGYM_HIDDEN_DIR  hidden data: labels.csv (Id,split,SalePrice of the validation and test houses)
  MLGYM_SPLIT       "test" scores the test houses, "dev" the validation houses

submission.csv has the header Id,SalePrice and one row per house: every house of the split
being scored must be there; rows for the other split (validation or test) are allowed and
ignored; any other Id, a repeated Id or a SalePrice that is not a finite number fails.

Prints one JSON line: {"r2": ..., "rmse": ...} (r2 higher is better, rmse in dollars lower is).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from pathlib import Path

SPLITS = {"test": "test", "dev": "validation"}  # MLGym split -> rows of labels.csv
COLUMNS = ["Id", "SalePrice"]


class SubmissionError(Exception):
    """The submission cannot be scored; the message tells the agent why."""


def read_labels(path: Path) -> dict[str, dict[str, float]]:
    """{split: {Id: SalePrice}} from the hidden labels file."""
    labels: dict[str, dict[str, float]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            labels.setdefault(row["split"], {})[row["Id"]] = float(row["SalePrice"])
    return labels


def _number(text: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SubmissionError(f"submission.csv line {line}: SalePrice {text!r} is not a "
                              "number") from None
    if not math.isfinite(value):
        raise SubmissionError(f"submission.csv line {line}: SalePrice is {text!r}; every "
                              "prediction must be a finite number (no NaN or inf)")
    return value


def _canonical_id(text: str, line: int) -> str:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not number.is_integer():
        raise SubmissionError(f"submission.csv line {line}: Id {text!r} is not a house id "
                              "(an integer from data/test.csv or data/validation.csv)")
    return str(int(number))


def read_submission(path: Path, known_ids: set[str]) -> dict[str, float]:
    """{Id: predicted SalePrice}; raise :class:`SubmissionError` on any malformed content."""
    if not path.is_file():
        raise SubmissionError("submission.csv not found in the workspace; write it with the "
                              "columns Id,SalePrice (run baseline.py for an example)")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise SubmissionError("submission.csv is empty")
    header = [cell.strip() for cell in rows[0]]
    if header != COLUMNS:
        raise SubmissionError(f"submission.csv must have exactly the columns Id,SalePrice; its "
                              f"header is {','.join(header)!r}")
    predictions: dict[str, float] = {}
    unknown = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise SubmissionError(f"submission.csv line {line}: expected 2 values (Id,SalePrice), "
                                  f"found {len(row)}")
        house = _canonical_id(row[0].strip(), line)
        if house in predictions:
            raise SubmissionError(f"submission.csv line {line}: Id {house} appears more than once")
        if house not in known_ids:
            unknown.append(house)
        predictions[house] = _number(row[1].strip(), line)
    if unknown:
        raise SubmissionError(f"submission.csv has {len(unknown)} Id(s) that are neither test nor "
                              f"validation houses: {', '.join(unknown[:10])}"
                              f"{' ...' if len(unknown) > 10 else ''}")
    return predictions


def score(predictions: dict[str, float], truth: dict[str, float], split_name: str) -> dict:
    """r2 and rmse of the predictions for the houses in ``truth``."""
    missing = sorted((h for h in truth if h not in predictions), key=int)
    if missing:
        raise SubmissionError(f"submission.csv lacks {len(missing)} of the {len(truth)} "
                              f"{split_name} houses, e.g. Id {', '.join(missing[:10])}; predict "
                              f"every house of data/{split_name}.csv")
    errors = [predictions[h] - y for h, y in truth.items()]
    mean = sum(truth.values()) / len(truth)
    total = sum((y - mean) ** 2 for y in truth.values())
    residual = sum(e * e for e in errors)
    return {"r2": 1.0 - residual / total, "rmse": math.sqrt(residual / len(errors))}


def main() -> int:
    workspace = Path(os.environ["MLGYM_WORKSPACE"])
    split = os.environ.get("MLGYM_SPLIT", "test")
    if split not in SPLITS:
        print(f"evaluation failed: unknown split {split!r}; this task has 'dev' and 'test'",
              file=sys.stderr)
        return 1
    labels = read_labels(Path(os.environ["MLGYM_HIDDEN_DIR"]) / "labels.csv")
    known = {house for houses in labels.values() for house in houses}
    try:
        predictions = read_submission(workspace / "submission.csv", known)
        metrics = score(predictions, labels[SPLITS[split]], SPLITS[split])
    except SubmissionError as exc:
        print(f"evaluation failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
