"""Evaluator of the fashion-mnist task: accuracy of submission.csv against the hidden labels.

Runs under MLGym's evaluator protocol (working directory: this folder):
  MLGYM_WORKSPACE  a snapshot of the agent's submission.csv
  MLGYM_DATA_DIR   the datasets: fashion-mnist/ (public) and _hidden/fashion-mnist/ (test labels)
  MLGYM_SPLIT      "test" scores the 10,000 test images (test-<i>), "dev" the held-out training
                   images 50000-59999 (train-<i>)

Prints one JSON line: {"accuracy": ...}. classification.py (shared by the image tasks) reads and
checks the submission.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from classification import ids, main

DATA = Path(os.environ.get("MLGYM_DATA_DIR", "/mlgym/data"))
HOLD_OUT = 50_000  # training images from here on are the dev split
TEST, TRAIN = 10_000, 60_000


def read_labels(path: Path) -> bytes:
    """The labels of an IDX label file (magic 0x00000801, count, one byte per label)."""
    raw = path.read_bytes()
    if raw[:4] != b"\x00\x00\x08\x01" or int.from_bytes(raw[4:8], "big") != len(raw) - 8:
        raise SystemExit(f"evaluation failed: {path} is not an IDX label file")
    return raw[8:]


def truth(split: str) -> dict[str, int]:
    if split == "test":
        return ids("test", read_labels(DATA / "_hidden/fashion-mnist/t10k-labels-idx1-ubyte"))
    train = read_labels(DATA / "fashion-mnist/train-labels-idx1-ubyte")
    return ids("train", train[HOLD_OUT:], start=HOLD_OUT)


def known(image: str) -> bool:
    prefix, _, number = image.partition("-")
    limits = {"test": (0, TEST), "train": (HOLD_OUT, TRAIN)}
    if prefix not in limits or not number.isdigit() or number != str(int(number)):
        return False
    low, high = limits[prefix]
    return low <= int(number) < high


if __name__ == "__main__":
    sys.exit(main(truth, known, what={"test": "test images",
                                      "dev": "held-out training images (50000-59999)"}))
