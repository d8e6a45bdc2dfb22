"""Time ``reset()`` and one submission's evaluation for the vision tasks, with cached datasets.

For each task it prints:

* reset: median and max of ``reset()`` of one environment object after a first, warm-up reset
  (dataset materialised and task environment built): what an episode pays for its data, which is
  bound read-only into the workspace, never copied (target for fashion-mnist: under 2 s);
* evaluation: the wall time of a ``validate`` of a complete, valid submission.csv through the
  whole environment (snapshot, evaluator sandbox, scoring the 10,000 test images / captions).

fashion-mnist uses the real data (Debian's ``dataset-fashion-mnist``); cifar10 and
coco-captioning use data made in the hub's format, of the real size for cifar10 (50,000 + 10,000
images) and 2,000 images for coco-captioning, in a temporary data folder.

Usage::

    python benchmarks/vision_reset.py                          # all three tasks on bwrap
    python benchmarks/vision_reset.py --tasks fashion-mnist --resets 10 --backend bwrap
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

# a submission of a constant class for every test image, and the dev rows
CLASSIFICATION = ("python3 -c \"import sys; n, a, b = map(int, sys.argv[1:]); "
                  "print('id,label'); [print(f'test-{i},0') for i in range(n)]; "
                  "[print(f'train-{i},0') for i in range(a, b)]\" ")
CAPTIONS = ("python3 -c \"import pyarrow.parquet as pq; "
            "ids = [i for s in ('test', 'val') for i in "
            "pq.read_table(f'data/coco-captions/{s}.parquet', columns=['id'])['id'].to_pylist()]; "
            "print('id,caption'); [print(f'{i},a man on a street') for i in ids]\" > submission.csv")


def generated_data(root: Path, tasks: list[str]) -> None:
    """Hub-format data for the tasks whose real data this machine cannot fetch."""
    from mlgym_datasets_vision import testing as hub

    os.environ["MLGYM_HF_MIRROR"] = str(root / "mirror")
    os.environ["HF_HOME"] = str(root / "hf")
    if "cifar10" in tasks:
        hub.cifar10_repo(root / "mirror", hub.classification_arrays(50_000, (32, 32, 3), 1),
                         hub.classification_arrays(10_000, (32, 32, 3), 2))
    if "coco-captioning" in tasks:
        hub.coco_repo(root / "mirror", hub.coco_rows(2_000, seed=3))


def bench(task: str, backend: str, resets: int) -> None:
    import gymnasium

    submission = {"fashion-mnist": CLASSIFICATION + "10000 50000 60000 > submission.csv",
                  "cifar10": CLASSIFICATION + "10000 45000 50000 > submission.csv",
                  "coco-captioning": CAPTIONS}[task]
    env = gymnasium.make(f"mlgym/{task}", backend=backend)
    try:
        started = time.perf_counter()
        env.reset(seed=0)
        first = time.perf_counter() - started
        times = []
        for k in range(resets):
            started = time.perf_counter()
            env.reset(seed=k)
            times.append(time.perf_counter() - started)
        env.step(submission)
        started = time.perf_counter()
        _, _, _, _, info = env.step("validate")
        evaluation = time.perf_counter() - started
    finally:
        env.close()
    scores = info.get("scores")
    print(f"{task:<16} first reset {first:7.2f} s   reset median "
          f"{statistics.median(times):6.3f} s  max {max(times):6.3f} s   "
          f"evaluation {evaluation:6.2f} s   scores {scores}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+",
                        default=["fashion-mnist", "cifar10", "coco-captioning"])
    parser.add_argument("--backend", default="bwrap")
    parser.add_argument("--resets", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlgym-vision-bench-") as tmp:
        generated_data(Path(tmp), args.tasks)
        for task in args.tasks:
            if task != "fashion-mnist":  # fashion-mnist: the user's cache of the real data
                os.environ["MLGYM_DATA_DIR"] = str(Path(tmp) / "data")
            bench(task, args.backend, args.resets)
            os.environ.pop("MLGYM_DATA_DIR", None)


if __name__ == "__main__":
    main()
