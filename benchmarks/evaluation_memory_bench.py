"""The harness's memory over many evaluations: resident size after each block of ``validate``s.

An evaluation keeps no output once its observation is made, so the resident size of the process
running the environment should stay flat however many evaluations an episode runs, even when
every one of them fails. This script prints the resident set size (from ``/proc/self/status``)
after every ``--block`` validations of the test fixture task, with a workspace whose evaluation
succeeds, or fails (``--failing``: predictions for the wrong ids).

Usage::

    python benchmarks/evaluation_memory_bench.py                  # 1000 validates, bwrap
    python benchmarks/evaluation_memory_bench.py --backend local --count 200 --failing
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAILING = "printf 'id,label\\nzz,1\\n' > predictions.csv"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="bwrap")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--failing", action="store_true", help="make every evaluation fail")
    args = parser.parse_args(argv)

    from mlgym.episode import MLGymEnv
    from mlgym.plugins import get_registry

    spec = importlib.util.spec_from_file_location(
        "mlgym_bench_fixture_plugin", ROOT / "tests" / "fixtures" / "fixture_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    get_registry().register(module, name="mlgym-bench-fixtures")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = MLGymEnv("fixture-threshold", backend=args.backend, max_steps=args.count + 10)
    try:
        env.reset(seed=0)
        env.step(FAILING if args.failing else "python3 predict.py")
        start = rss_mib()
        print(f"after reset: {start:8.1f} MiB resident")
        ok = 0
        for done in range(1, args.count + 1):
            _, _, _, _, info = env.step("validate")
            ok += info["scores"] is not None
            if done % args.block == 0:
                print(f"after {done:5d} validates ({ok} succeeded): {rss_mib():8.1f} MiB "
                      f"resident ({rss_mib() - start:+.1f} MiB)", flush=True)
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
