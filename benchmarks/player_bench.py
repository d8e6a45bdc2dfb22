"""Time the player protocol per backend: one call's round trip, single and batched, and the
evaluations of the game tasks through the whole environment.

For each backend it prints:

* player start: from the referee's ``connect`` to the first answer (a fresh sandbox each time);
* single calls: median and p95 round trip of a call with one element (referee -> MLGym's relay
  -> player -> back), measured inside the referee;
* batched calls: the same for calls of ``--batch`` elements, and the cost per element;
* with ``--games``: the median wall time of ``validate`` for each installed game task, measured
  as the agent would see it (``env.step("validate")``).

Usage::

    python benchmarks/player_bench.py                            # bwrap and docker
    python benchmarks/player_bench.py --backends bwrap --calls 2000 --games
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REFEREE = r'''
import json, sys, time
import mlgym_referee as referee
calls, batch = int(sys.argv[1]), int(sys.argv[2])
out = {"start": [], "single": [], "batch": []}
for _ in range(3):
    t = time.perf_counter()
    with referee.connect() as player:
        player.call("echo", [[0]])
        out["start"].append(time.perf_counter() - t)
with referee.connect() as player:
    for kind, size in (("single", 1), ("batch", batch)):
        elements = [[[i, i + 1]] for i in range(size)]
        for _ in range(calls if size == 1 else max(calls // 20, 5)):
            t = time.perf_counter()
            player.call("echo", elements)
            out[kind].append(time.perf_counter() - t)
print(json.dumps(out))
'''

PLAYER = r'''
import mlgym_player
mlgym_player.serve({"echo": lambda value: value})
'''


def summary(values: list[float], per: int = 1) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    text = f"median {statistics.median(ordered) * 1e3:8.3f} ms   p95 {p95 * 1e3:8.3f} ms"
    if per > 1:
        text += f"   ({statistics.median(ordered) / per * 1e6:.2f} us per element)"
    return text


def bench_protocol(backend: str, calls: int, batch: int) -> None:
    from mlgym.player import LIBRARY, PlayerLink, PlayerSetup
    from mlgym.plugins import get_registry
    from mlgym.sandbox.base import Limits, Mount, SandboxConfig

    with tempfile.TemporaryDirectory(prefix="mlgym-bench-player-") as tmp:
        root = Path(tmp)
        code = root / "code"
        code.mkdir()
        (code / "referee.py").write_text(REFEREE)
        (code / "player.py").write_text(PLAYER)
        for path in LIBRARY.glob("mlgym_*.py"):
            (code / path.name).write_text(path.read_text())
        code.chmod(0o755)
        for path in code.iterdir():
            path.chmod(0o644)
        (root / "workspace").mkdir()
        config = SandboxConfig(workspace=root / "workspace", limits=Limits(memory_mb=1024))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sandbox = get_registry().get("backends", backend).factory(config)
            sandbox.start()
        try:
            setup = PlayerSetup(argv=["python3", "player.py"], cwd="/mlgym/player",
                                mounts=[Mount(code, "/mlgym/player")], env={},
                                limits=Limits(memory_mb=1024), max_starts=4)
            with PlayerLink(sandbox, setup) as link:
                result = sandbox.run_isolated(
                    ["python3", "referee.py", str(calls), str(batch)], cwd="/mlgym/player",
                    mounts=[Mount(code, "/mlgym/player"), *link.mounts()], env=link.env(),
                    timeout=600)
        finally:
            sandbox.close()
    if result.exit_code != 0:
        print(f"{backend}: the referee failed:\n{result.stderr[-2000:]}")
        return
    out = json.loads(result.output.strip().splitlines()[-1])
    print(f"{backend}: player start (fresh sandbox)  {summary(out['start'])}")
    print(f"{backend}: single call round trip      {summary(out['single'])}")
    print(f"{backend}: batch of {batch:>5} elements      {summary(out['batch'], batch)}")


def bench_games(backend: str, repeats: int) -> None:
    import gymnasium

    import mlgym  # noqa: F401  (registers the tasks)
    from mlgym.plugins import get_registry

    for task in ("prisoners-dilemma", "battle-of-sexes", "blotto"):
        try:
            get_registry().task(task)
        except Exception:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = gymnasium.make(f"mlgym/{task}", backend=backend)
        try:
            env.reset(seed=0)
            times, score = [], None
            for _ in range(repeats):
                started = time.perf_counter()
                _, _, _, _, info = env.step("validate")
                times.append(time.perf_counter() - started)
                score = info.get("scores")
        finally:
            env.close()
        print(f"{backend}: {task:<18} validate  median {statistics.median(times):6.2f} s   "
              f"(min {min(times):.2f} s, {repeats} runs; scores {score})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="bwrap,docker")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--games", action="store_true", help="also time the game validations")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    for backend in args.backends.split(","):
        bench_protocol(backend, args.calls, args.batch)
        if args.games:
            bench_games(backend, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
