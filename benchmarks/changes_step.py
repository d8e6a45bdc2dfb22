"""What recording workspace changes costs per step (``mlgym.episode.changes``).

Builds a workspace like a research task's: N small source files, a few medium text files (logs,
CSVs), one large binary (a checkpoint) and a large text file, and times
``ChangeRecorder.collect()`` after a step that changed nothing, after one that edited a source
file, and after one that rewrote the checkpoint and appended to a log. Also prints the recorder's
first picture (``start()``, done once per episode at reset).

Usage::

    python benchmarks/changes_step.py                 # 2,000 files, a 200 MiB checkpoint
    python benchmarks/changes_step.py --files 20000 --checkpoint-mib 1000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from mlgym.episode.changes import ChangeRecorder


def build(root: Path, files: int, checkpoint_mib: int) -> None:
    for k in range(files):
        folder = root / f"pkg{k // 100}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{k}.py").write_text(f"# module {k}\n" + "x = 1\n" * 40)
    for k in range(5):
        (root / f"log{k}.txt").write_text("epoch 1 loss 0.5\n" * 5000)
    (root / "big.csv").write_text("1,2,3,4\n" * 200_000)  # 1.6 MB: named, not diffed
    with open(root / "model.pt", "wb") as f:
        f.write(os.urandom(1 << 20) * checkpoint_mib)


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--checkpoint-mib", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, args.files, args.checkpoint_mib)
        recorder = ChangeRecorder(root)
        started = time.perf_counter()
        recorder.start()
        print(f"workspace: {args.files} source files, 5 logs, a 1.6 MB CSV, a "
              f"{args.checkpoint_mib} MiB checkpoint")
        print(f"start (once per episode): {time.perf_counter() - started:.3f} s")
        idle = timed(recorder.collect, args.repeat)
        print(f"step that changed nothing: median {statistics.median(idle) * 1000:.1f} ms")
        source = root / "pkg0" / "mod0.py"

        def edit() -> None:
            source.write_text(source.read_text() + "y = 2\n")
            record = recorder.collect()
            assert record["files"] and record["files"][0]["diff"]

        edits = timed(edit, args.repeat)
        print(f"step that edited one source file: median {statistics.median(edits) * 1000:.1f} ms")
        log = root / "log0.txt"

        def train() -> None:
            with open(root / "model.pt", "r+b") as f:
                f.write(os.urandom(4096))
            with open(log, "a") as f:
                f.write("epoch 2 loss 0.4\n")
            record = recorder.collect()
            assert len(record["files"]) == 2

        trains = timed(train, args.repeat)
        print(f"step that rewrote the checkpoint and appended to a log: median "
              f"{statistics.median(trains) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
