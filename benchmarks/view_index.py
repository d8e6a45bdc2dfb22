"""How fast ``mlgym view`` answers over a folder of many episodes.

Generates N episodes (``result.json`` + ``trajectory.json`` of 20 steps each, 3 evaluations,
workspace changes on some steps) under a temporary folder, then prints:

* index build, cold: every ``result.json`` read (the first ``mlgym view`` of the folder);
* index build, cached: the second start, rows from the on-disk cache (one ``stat`` per file);
* run list: median and max time of ``GET /`` (first page, the AUP of all N episodes computed on
  the first request and cached), ``GET /?sort=submission&desc=1&page=5`` and a filtered list,
  over HTTP from the served viewer;
* episode page: median time of ``GET /episode/<id>`` (trajectory read, validated, rendered).

The target: the run list under 1 s for 1,000 episodes.

Usage::

    python benchmarks/view_index.py              # 1,000 episodes
    python benchmarks/view_index.py --episodes 5000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from mlgym.agents.trajectory import FORMAT, SCHEMA_VERSION, result_record


def make_episode(folder: Path, k: int, steps: int = 20) -> None:
    method = ["react:openai/gpt-4o", "react:anthropic/claude", "automl"][k % 3]
    task = ["house-price", "blotto", "3sat", "prisoners-dilemma"][k % 4]
    evaluations = [{"step": s, "action": "validate" if s < steps else "submit", "split": "test",
                    "ok": True, "scores": {"score": 0.5 + 0.01 * ((k * s) % 37)}, "error": None,
                    "time": float(s)} for s in (5, 12, steps)]
    step_list = []
    for s in range(1, steps + 1):
        changes = {"files": [], "cut": False, "incomplete": False}
        if s % 4 == 0:
            changes["files"].append({"path": "train.py", "change": "modified", "size": 2000,
                                     "diff": f"--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n"
                                             f"-lr = {s}\n+lr = {s + 1}\n", "note": None})
        step_list.append({"step": s, "action": f"python train.py --lr {s}",
                          "observation": "loss 0.1\n" * 30, "reward": 0.0,
                          "thought": "I try another learning rate.", "started_at": float(s),
                          "agent_time": 0.5, "env_time": 0.5, "tokens": {"input": 900, "output": 60},
                          "cost": 0.003, "terminated": s == steps, "truncated": False,
                          "scores": None, "changes": changes})
    data = {"schema_version": SCHEMA_VERSION, "format": FORMAT, "run_id": "bench", "task": task,
            "agent": method.split(":")[0], "model": None, "method": method, "seed": k,
            "protocol": "mlgym", "backend": "bwrap", "started_at": "2026-01-01T00:00:00Z",
            "finished_at": "2026-01-01T00:10:00Z", "duration": 600.0,
            "config": {"agent": {}, "environment": {}},
            "versions": {"python": "3.11", "mlgym-core": "0", "distributions": {}},
            "task_prompt": "task", "steps": step_list, "final_turn": None,
            "evaluations": evaluations, "submission": evaluations[-1],
            "baseline": {"score": 0.5}, "exit_reason": "submitted", "error": None,
            "error_kind": None,
            "totals": {"steps": steps, "cost": 0.003 * steps,
                       "tokens": {"input": 900 * steps, "output": 60 * steps},
                       "model_calls": steps, "failed_calls": 0}}
    folder.mkdir(parents=True)
    (folder / "trajectory.json").write_text(json.dumps(data))
    (folder / "result.json").write_text(json.dumps(result_record(data)))


def timed_get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        response.read()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args()
    from mlgym.view.index import EpisodeIndex
    from mlgym.view.server import Viewer

    with tempfile.TemporaryDirectory() as tmp:
        root, cache = Path(tmp) / "results", Path(tmp) / "cache"
        for k in range(args.episodes):
            make_episode(root / f"ep{k:05d}", k)
        started = time.perf_counter()
        EpisodeIndex([root], cache_dir=cache).build()
        cold = time.perf_counter() - started
        started = time.perf_counter()
        index = EpisodeIndex([root], cache_dir=cache).build()
        warm = time.perf_counter() - started
        print(f"{len(index.rows)} episodes")
        print(f"index build, cold: {cold:.3f} s; cached: {warm:.3f} s")
        with Viewer(index) as viewer:
            first = timed_get(viewer.url)
            print(f"run list, first request (AUP computed): {first:.3f} s")
            for name, path in (("run list", ""), ("sorted, page 5", "?sort=submission&desc=1&page=5"),
                               ("filtered", "?task=blotto&method=automl")):
                times = [timed_get(viewer.url + path) for _ in range(args.requests)]
                print(f"{name}: median {statistics.median(times):.3f} s, max {max(times):.3f} s")
            ids = [r.id for r in index.rows[:args.requests]]
            times = [timed_get(viewer.url + f"episode/{i}") for i in ids]
            print(f"episode page (20 steps): median {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main()
