"""Sandbox overhead per backend: start time and the round trip of a trivial command.

For every backend that works here: the time to start a sandbox (create it, start the shell,
get the first answer) and to close it, the round trip of ``true`` through the persistent shell
(median and p95 over ``--commands`` commands, after a short warm-up), the time of one
``run_isolated`` (a fresh evaluator process), and how long past a 1 s timeout a ``sleep 60`` takes
to be stopped and the shell to answer again (the tests only check that it is stopped). Prints a
table.

    python benchmarks/sandbox_bench.py [--commands 1000] [--starts 10] [--backends bwrap,docker]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from mlgym.plugins import get_registry
from mlgym.sandbox.base import SandboxConfig


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_backend(name: str, commands: int, starts: int, root: Path) -> dict[str, float]:
    spec = get_registry().get("backends", name)
    start_times, close_times = [], []
    for i in range(starts):
        sandbox = spec.factory(SandboxConfig(workspace=root / f"{name}-{i}"))
        t0 = time.perf_counter()
        sandbox.start()
        start_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sandbox.close()
        close_times.append(time.perf_counter() - t0)
    sandbox = spec.factory(SandboxConfig(workspace=root / f"{name}-bench"))
    sandbox.start()
    try:
        for _ in range(50):
            sandbox.run("true", 10)
        rtts = []
        for _ in range(commands):
            t0 = time.perf_counter()
            result = sandbox.run("true", 10)
            rtts.append(time.perf_counter() - t0)
            assert result.exit_code == 0, result
        isolated = []
        for _ in range(3):
            t0 = time.perf_counter()
            sandbox.run_isolated(["true"], cwd="/", mounts=[], env={}, timeout=60)
            isolated.append(time.perf_counter() - t0)
        overshoot = []
        for _ in range(3):
            t0 = time.perf_counter()
            result = sandbox.run("sleep 60", 1)
            assert result.timed_out, result
            overshoot.append(time.perf_counter() - t0 - 1)
    finally:
        sandbox.close()
    return {"start": statistics.median(start_times), "close": statistics.median(close_times),
            "median": statistics.median(rtts), "p95": percentile(rtts, 0.95),
            "isolated": statistics.median(isolated), "overshoot": statistics.median(overshoot)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--backends", default="local,bwrap,docker")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the local backend's isolation warning
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlgym-bench-") as tmp:
        for name in args.backends.split(","):
            reason = get_registry().get("backends", name).probe()
            if reason:
                print(f"{name}: skipped ({reason})")
                continue
            rows.append((name, bench_backend(name, args.commands, args.starts, Path(tmp))))
    print(f"\n{args.commands} round trips of `true` per backend; start/close: median of "
          f"{args.starts}; run_isolated and past a timeout: median of 3\n")
    header = (f"{'backend':<8} {'rtt median':>11} {'rtt p95':>9} {'start':>9} {'close':>9} "
              f"{'run_isolated':>13} {'past timeout':>13}")
    print(header)
    print("-" * len(header))
    for name, r in rows:
        print(f"{name:<8} {r['median'] * 1e3:>8.3f} ms {r['p95'] * 1e3:>6.3f} ms "
              f"{r['start'] * 1e3:>6.1f} ms {r['close'] * 1e3:>6.1f} ms "
              f"{r['isolated'] * 1e3:>10.1f} ms {r['overshoot'] * 1e3:>10.1f} ms")


if __name__ == "__main__":
    main()
