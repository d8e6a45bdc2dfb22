"""Evaluator of the cifar10 task: accuracy of submission.csv against the hidden labels.

Runs under MLGym's evaluator protocol (working directory: this folder):
  MLGYM_WORKSPACE  a snapshot of the agent's submission.csv
  MLGYM_DATA_DIR   the datasets: cifar10/ (public) and _hidden/cifar10/ (test labels)
  MLGYM_SPLIT      "test" scores the test images (test-<i>), "dev" the held-out last tenth of
                   the training images, 45000-49999 (train-<i>)

Prints one JSON line: {"accuracy": ...}. classification.py (shared by the image tasks) reads and
checks the submission.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from classification import ids, main

DATA = Path(os.environ.get("MLGYM_DATA_DIR", "/mlgym/data"))


def labels(path: Path) -> np.ndarray:
    return np.load(path, mmap_mode="r", allow_pickle=False)


def truth(split: str) -> dict[str, int]:
    if split == "test":
        return ids("test", labels(DATA / "_hidden/cifar10/test_labels.npy"))
    return ids("train", labels(DATA / "cifar10/train_labels.npy")[HOLD_OUT:], start=HOLD_OUT)


TRAIN = len(labels(DATA / "cifar10/train_labels.npy"))
HOLD_OUT = TRAIN * 9 // 10  # the last tenth of the training images is the dev split


def known(image: str) -> bool:
    prefix, _, number = image.partition("-")
    if prefix not in SIZES or not number.isdigit() or number != str(int(number)):
        return False
    low, high = SIZES[prefix]
    return low <= int(number) < high


SIZES = {"test": (0, len(labels(DATA / "cifar10/test_images.npy"))), "train": (HOLD_OUT, TRAIN)}

if __name__ == "__main__":
    sys.exit(main(truth, known, what={"test": "test images",
                                      "dev": "held-out training images (the last tenth)"}))
