"""Make the house-price splits from the Kaggle Ames ``train.csv`` (dataset ``house-prices-ames``).

The 1,460 labelled houses are shuffled with ``random.Random(42)`` and cut 70/10/20 into
train (1,022), validation (146) and test (292) houses. Rows are copied as text, unchanged, in the
order of the original file:

    datasets/ames-split/train.csv        all 81 columns          (the agent reads it)
    datasets/ames-split/validation.csv   all 81 columns          (the agent reads it)
    datasets/ames-split/test.csv         80 columns, no SalePrice (the agent reads it)
    hidden/labels.csv                    Id,split,SalePrice for validation and test (evaluator only)

The full ``train.csv`` holds the test labels, so it is never mounted into a workspace; only these
derived files are.

    python -m mlgym_task_house_price.scripts.make_splits            # rewrite the shipped files
    python -m mlgym_task_house_price.scripts.make_splits --check    # compare with them
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import random
import sys
from pathlib import Path

import yaml

PACKAGE = Path(__file__).resolve().parent.parent
RAW_DATASET = PACKAGE / "datasets" / "ames" / "dataset.yaml"
SPLIT_FOLDER = PACKAGE / "datasets" / "ames-split"
HIDDEN_FOLDER = PACKAGE / "hidden"
SEED = 42
FRACTIONS = {"train": 0.7, "validation": 0.1}  # the test split takes the rest (0.2)
TARGET = "SalePrice"


class RawDataMissing(Exception):
    """The raw train.csv is not installed or is not the expected file."""


def raw_train_csv() -> Path:
    """The Kaggle train.csv from the first installed package source, after checking its sha256."""
    spec = yaml.safe_load(RAW_DATASET.read_text())
    expected = {f["name"]: f["sha256"] for f in spec["files"]}["train.csv"]
    tried = []
    for source in spec["sources"]:
        package = source.get("package")
        if package is None:
            continue
        try:
            dist = importlib.metadata.distribution(package["distribution"])
        except importlib.metadata.PackageNotFoundError:
            tried.append(f"`{package.get('install') or 'pip install ' + package['distribution']}`")
            continue
        path = Path(str(dist.locate_file(package["path"]))) / "train.csv"
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == expected:
            return path
        tried.append(f"{path} (missing or a different file)")
    raise RawDataMissing("the Ames train.csv is not installed; any of these provides it: "
                         + "; ".join(tried))


def split_ids(ids: list[str], seed: int = SEED) -> dict[str, set[str]]:
    """Shuffle ``ids`` with ``seed`` and cut them into train, validation and test."""
    shuffled = list(ids)
    random.Random(seed).shuffle(shuffled)
    n_train = round(FRACTIONS["train"] * len(ids))
    n_validation = round(FRACTIONS["validation"] * len(ids))
    return {"train": set(shuffled[:n_train]),
            "validation": set(shuffled[n_train:n_train + n_validation]),
            "test": set(shuffled[n_train + n_validation:])}


def make_splits(raw: Path) -> dict[Path, bytes]:
    """The content of every derived file, by path, from the raw CSV."""
    header, *rows = raw.read_text().splitlines()
    columns = header.split(",")
    if columns[0] != "Id" or columns[-1] != TARGET:
        raise RawDataMissing(f"{raw} is not the Kaggle file: its columns do not run from Id "
                             f"to {TARGET}")
    cells = [row.split(",") for row in rows]
    splits = split_ids([c[0] for c in cells])
    out: dict[Path, list[str]] = {
        SPLIT_FOLDER / "train.csv": [header],
        SPLIT_FOLDER / "validation.csv": [header],
        SPLIT_FOLDER / "test.csv": [",".join(columns[:-1])],
        HIDDEN_FOLDER / "labels.csv": [f"Id,split,{TARGET}"],
    }
    for row, cell in zip(rows, cells, strict=True):
        split = next(name for name, ids in splits.items() if cell[0] in ids)
        if split == "test":
            out[SPLIT_FOLDER / "test.csv"].append(",".join(cell[:-1]))
        else:
            out[SPLIT_FOLDER / f"{split}.csv"].append(row)
        if split != "train":
            out[HIDDEN_FOLDER / "labels.csv"].append(f"{cell[0]},{split},{cell[-1]}")
    return {path: ("\n".join(lines) + "\n").encode() for path, lines in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped files")
    parser.add_argument("--raw", type=Path, help="path of train.csv (default: the installed one)")
    args = parser.parse_args(argv)
    try:
        raw = args.raw or raw_train_csv()
    except RawDataMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    status = 0
    for path, data in make_splits(raw).items():
        name = path.relative_to(PACKAGE)
        if args.check:
            same = path.is_file() and path.read_bytes() == data
            status |= not same
            print(f"{name}: {'identical' if same else 'DIFFERENT'}")
        else:
            path.write_bytes(data)
            print(f"{name}: sha256 {hashlib.sha256(data).hexdigest()} size {len(data)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
