"""Evaluator of the coco-captioning task: corpus BLEU of submission.csv against the references.

Runs under MLGym's evaluator protocol (working directory: this folder):
  MLGYM_WORKSPACE  a snapshot of the agent's submission.csv
  MLGYM_DATA_DIR   the datasets: coco-captions/ (public; val.parquet holds the val captions) and
                   _hidden/coco-captions/test_captions.json (the test references)
  MLGYM_SPLIT      "test" scores the test images, "dev" the val images

submission.csv has the header id,caption and one row per image: its id (the COCO file name
without .jpg, as in test.parquet / val.parquet) and one caption. Every image of the scored split
needs exactly one non-empty caption; rows for the other split are allowed and ignored. A missing,
repeated or unknown id, an empty caption or one longer than 500 characters, or a row with another
number of values fails the evaluation with a message naming the first bad row.

BLEU is sacrebleu's corpus BLEU (4-grams, its standard 13a tokenisation, mixed case, exponential
smoothing, every reference of an image) over all scored images, divided by 100 so that it is on
the 0-1 scale of the paper's figure. It prints {"bleu": ...}; the sacrebleu signature (which
says exactly how the figure was computed) goes to stderr.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

DATA = Path(os.environ.get("MLGYM_DATA_DIR", "/mlgym/data"))
HEADER = ["id", "caption"]
MAX_CHARS = 500
csv.field_size_limit(1 << 20)


class SubmissionError(Exception):
    """The submission cannot be scored; the message tells the agent why."""


def references(split: str) -> dict[str, list[str]]:
    """{image id: reference captions} of the split scored."""
    if split == "test":
        return json.loads((DATA / "_hidden/coco-captions/test_captions.json").read_text())
    import pyarrow.parquet as pq

    table = pq.read_table(DATA / "coco-captions/val.parquet", columns=["id", "captions"])
    return dict(zip(table["id"].to_pylist(), table["captions"].to_pylist(), strict=True))


def image_ids(split: str) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_table(DATA / f"coco-captions/{split}.parquet", columns=["id"])["id"].to_pylist()


def read_submission(path: Path, known: set[str]) -> dict[str, str]:
    if not path.is_file():
        raise SubmissionError("submission.csv not found in the workspace; write it with the header "
                              "id,caption (the starter's train.py writes one)")
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.reader(f))
    if not rows or [cell.strip() for cell in rows[0]] != HEADER:
        found = ",".join(rows[0]) if rows else "an empty file"
        raise SubmissionError(f"submission.csv line 1: the header must be id,caption, found "
                              f"{found!r}")
    captions: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise SubmissionError(f"submission.csv line {line}: expected 2 values (id,caption), "
                                  f"found {len(row)}; quote a caption that holds a comma")
        image, caption = row[0].strip(), " ".join(row[1].split())
        if image not in known:
            raise SubmissionError(f"submission.csv line {line}: unknown id {image!r} (ids are the "
                                  "id column of data/coco-captions/test.parquet and val.parquet)")
        if image in captions:
            raise SubmissionError(f"submission.csv line {line}: id {image} appears more than once")
        if not caption:
            raise SubmissionError(f"submission.csv line {line}: the caption of {image} is empty")
        if len(caption) > MAX_CHARS:
            raise SubmissionError(f"submission.csv line {line}: the caption of {image} has "
                                  f"{len(caption)} characters; at most {MAX_CHARS} are allowed")
        captions[image] = caption
    return captions


def corpus_bleu(captions: dict[str, str], refs: dict[str, list[str]]) -> tuple[float, str]:
    """sacrebleu's corpus BLEU (0-100) and its signature; every id of ``refs`` is scored."""
    from sacrebleu.metrics import BLEU

    missing = [image for image in refs if image not in captions]
    if missing:
        raise SubmissionError(f"submission.csv lacks {len(missing)} of the {len(refs)} images, the "
                              f"first being {missing[0]}; caption every one of them")
    order = sorted(refs)
    streams = max(len(refs[i]) for i in order)
    # one stream per reference position; None where an image has fewer references
    ref_streams = [[refs[i][k] if k < len(refs[i]) else None for i in order]
                   for k in range(streams)]
    bleu = BLEU()
    score = bleu.corpus_score([captions[i] for i in order], ref_streams)
    return score.score, str(bleu.get_signature())


def main() -> int:
    split = os.environ.get("MLGYM_SPLIT", "test")
    if split not in ("dev", "test"):
        print(f"evaluation failed: unknown split {split!r}; this task has dev and test",
              file=sys.stderr)
        return 1
    workspace = Path(os.environ["MLGYM_WORKSPACE"])
    try:
        known = set(image_ids("test")) | set(image_ids("val"))
        captions = read_submission(workspace / "submission.csv", known)
        score, signature = corpus_bleu(captions, references(split))
    except SubmissionError as exc:
        print(f"evaluation failed: {exc}", file=sys.stderr)
        return 1
    print(f"sacrebleu signature: {signature}", file=sys.stderr)
    print(json.dumps({"bleu": round(score / 100, 6)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
