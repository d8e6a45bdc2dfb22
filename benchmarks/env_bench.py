"""Time ``MLGymEnv.reset()`` per backend, cold and with the task environment cached.

For each backend it prints:

* cold reset: a new environment object's first ``reset()`` with an empty cache folder (datasets
  materialised, the task's Python environment built; for ``docker`` the task image is looked up,
  the base image being built beforehand);
* first reset, cache warm: a new environment object's first ``reset()`` once the cache is filled;
* reset, same object: median and p95 of later ``reset()`` calls (the number to compare with the
  1 s target on ``bwrap``);
* a trivial step (``true``) and a ``validate``, median through the whole environment.

Usage::

    python benchmarks/env_bench.py                       # the test fixture task, every backend
    python benchmarks/env_bench.py --backends bwrap --task prisoners-dilemma --resets 30
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def register_fixture_task() -> None:
    from mlgym.plugins import get_registry

    spec = importlib.util.spec_from_file_location(
        "mlgym_bench_fixture_plugin", ROOT / "tests" / "fixtures" / "fixture_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    get_registry().register(module, name="mlgym-bench-fixtures")


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"median {statistics.median(ordered) * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms"


def bench_backend(task: str, backend: str, resets: int, steps: int) -> None:
    from mlgym.episode import MLGymEnv

    with tempfile.TemporaryDirectory(prefix="mlgym-bench-cache-") as cache:
        os.environ["MLGYM_CACHE_DIR"] = cache
        env = MLGymEnv(task, backend=backend)
        cold = timed(env.reset)
        env.close()
        env = MLGymEnv(task, backend=backend, max_steps=10**9)  # no truncation while timing
        warm_first = timed(env.reset)
        again = [timed(env.reset) for _ in range(resets)]
        step = [timed(lambda: env.step("true")) for _ in range(steps)]
        env.step("python3 predict.py" if task == "fixture-threshold" else "true")
        validate = [timed(lambda: env.step("validate")) for _ in range(5)]
        env.close()
    print(f"{backend:>7}  cold reset                {cold * 1000:8.1f} ms")
    print(f"{backend:>7}  first reset, cache warm   {warm_first * 1000:8.1f} ms")
    print(f"{backend:>7}  reset, same object        {summary(again)}   (n={resets})")
    print(f"{backend:>7}  step `true`               {summary(step)}   (n={steps})")
    print(f"{backend:>7}  validate                  {summary(validate)}   (n=5)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="fixture-threshold")
    parser.add_argument("--backends", default="local,bwrap,docker")
    parser.add_argument("--resets", type=int, default=20)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from mlgym.plugins import get_registry

    if args.task == "fixture-threshold":
        register_fixture_task()
    print(f"task {args.task}; python {sys.version.split()[0]}; {os.cpu_count()} cpus")
    for backend in args.backends.split(","):
        reason = get_registry().get("backends", backend).probe()
        if reason:
            print(f"{backend:>7}  unavailable: {reason}")
            continue
        bench_backend(args.task, backend, args.resets, args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
