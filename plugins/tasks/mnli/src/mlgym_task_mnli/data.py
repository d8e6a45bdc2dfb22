"""Build the mnli task's data from MultiNLI (Hugging Face ``nyu-mll/multi_nli``).

    python -m mlgym_task_mnli.data            # needs the hub once; datasets caches it

writes, inside this package:

    datasets/multi-nli/train.jsonl    id, premise, hypothesis, genre, label (0 entailment,
                                      1 neutral, 2 contradiction): the 392,702 training pairs
    datasets/multi-nli/dev.jsonl      id, premise, hypothesis, genre: validation_mismatched
    datasets/multi-nli/test.jsonl     id, premise, hypothesis, genre: validation_matched
    datasets/multi-nli/dataset.yaml   the dataset ``multi-nli``, with the files' checksums
    hidden/dev.csv, hidden/test.csv   id,label of the two validation sets (the evaluator's)

The test split is validation_matched, whose accuracy the paper reports; the dev split (for the
strict protocol) is validation_mismatched. Pairs without a gold label (label -1) are dropped.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPOSITORY = "nyu-mll/multi_nli"
DATASET_ID = "multi-nli"
LABELS = ("entailment", "neutral", "contradiction")  # MultiNLI's ClassLabel order
SPLITS = {"train": "train", "dev": "validation_mismatched", "test": "validation_matched"}


def rows(split: Iterable[Mapping], prefix: str) -> list[dict]:
    """The pairs of one split with a gold label, numbered ``<prefix>-<n>``."""
    out = []
    for n, row in enumerate(split):
        if row["label"] not in (0, 1, 2):
            continue
        out.append({"id": f"{prefix}-{n}", "premise": row["premise"],
                    "hypothesis": row["hypothesis"], "genre": row.get("genre", ""),
                    "label": int(row["label"])})
    return out


def write(dataset: Mapping[str, Iterable[Mapping]], out: Path = HERE) -> Path:
    """Write the task's files from ``dataset`` (a DatasetDict, or any mapping of the three
    MultiNLI split names to rows); return the path of dataset.yaml."""
    data, hidden = out / "datasets" / DATASET_ID, out / "hidden"
    data.mkdir(parents=True, exist_ok=True)
    hidden.mkdir(parents=True, exist_ok=True)
    for name, source in SPLITS.items():
        pairs = rows(dataset[source], name)
        with open(data / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for pair in pairs:
                shown = pair if name == "train" else {k: v for k, v in pair.items()
                                                      if k != "label"}
                f.write(json.dumps(shown, ensure_ascii=False) + "\n")
        if name != "train":
            with open(hidden / f"{name}.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["id", "label"])
                writer.writerows((pair["id"], pair["label"]) for pair in pairs)
    files = [data / f"{name}.jsonl" for name in SPLITS]
    lines = ["# Written by `python -m mlgym_task_mnli.data`: checksums of the files it wrote.",
             "schema_version: 1", f"id: {DATASET_ID}",
             "name: MultiNLI (train with labels; validation matched and mismatched without)",
             f"license: OANC / CC BY-SA 3.0 and others (see {REPOSITORY} on the hub)",
             "files:"]
    lines += [f"  - {{name: {p.name}, sha256: {_sha256(p)}, size: {p.stat().st_size}}}"
              for p in files]
    lines += ["sources:", "  - files: ."]
    (data / "dataset.yaml").write_text("\n".join(lines) + "\n")
    return data / "dataset.yaml"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlgym_task_mnli.data",
                                     description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    try:
        from datasets import load_dataset
    except ImportError:
        print("error: building MNLI needs `pip install datasets`", file=sys.stderr)
        return 1
    try:
        dataset = load_dataset(REPOSITORY)
    except Exception as exc:  # network, hub, cache: say what failed
        print(f"error: cannot load {REPOSITORY} from the Hugging Face hub ({type(exc).__name__}: "
              f"{exc}); it needs the hub once (or HF_ENDPOINT for a mirror)", file=sys.stderr)
        return 1
    print(write(dataset))
    return 0


if __name__ == "__main__":
    sys.exit(main())
