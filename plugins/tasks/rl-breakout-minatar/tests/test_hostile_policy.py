"""A policy that looks for what decides its score, in a real episode on bwrap: the hidden test
seeds, the referee's environment state and memory. It finds none of them and gets the score of
the same policy without the search."""

from __future__ import annotations

import base64

import gymnasium
import pytest

from mlgym.plugins import get_registry
from mlgym.testing import require_backend

SEARCH = r'''
import glob, json, os

def secrets_in_reach(seeds, host_path):
    """Every place a secret could be read from, and what was found there."""
    found = []
    hidden = os.environ.get("MLGYM_HIDDEN_DIR", "/mlgym/hidden")
    for path in [os.path.join(hidden, "test.json"), "/mlgym/hidden/test.json", host_path,
                 *glob.glob("/mlgym/**/test.json", recursive=True)]:
        try:
            with open(path) as f:
                found.append(("file", path, f.read()))
        except OSError:
            pass
    for pid in os.listdir("/proc"):  # the referee, if it were in this process namespace
        if pid.isdigit() and int(pid) != os.getpid():
            for name in ("environ", "cmdline", "mem"):
                try:
                    with open(f"/proc/{pid}/{name}", "rb") as f:
                        data = f.read(1 << 16)
                except OSError:
                    continue
                if any(str(s).encode() in data for s in seeds):
                    found.append(("process", pid, name))
    return found
'''

POLICY = '''
import numpy as np
{prelude}

def load_policy(checkpoint, config, env_info):
    {check}
    return lambda obs, key: (obs[:, :, :, 0].argmax(axis=-1).max(axis=-1) % 3).astype(np.int32)
'''


def put(env, name: str, text: str) -> None:
    data = base64.b64encode(text.encode()).decode()
    obs = env.step(f"mkdir -p checkpoints; printf %s {data} | base64 -d > {name} && echo written")[0]
    assert obs.strip().endswith("written"), obs


@pytest.mark.slow
@pytest.mark.bwrap
def test_a_policy_that_searches_for_the_secrets_finds_none():
    require_backend("bwrap")
    task = get_registry().task("rl-breakout-minatar")
    seeds = [int(s) for s in __import__("json").loads((task.hidden_dir / "test.json").read_text())["seeds"]]
    hidden = task.hidden_dir / "test.json"  # where the harness keeps them, outside the sandbox
    env = gymnasium.make("mlgym/rl-breakout-minatar", backend="bwrap")
    try:
        env.reset()
        for k in range(5):
            put(env, f"checkpoints/seed-{k}.txt", "no parameters\n")
        scores = []
        for prelude, check in [("", "pass"),
                               (SEARCH, f"found = secrets_in_reach({seeds}, {str(hidden)!r})\n"
                                        "    if found:\n        raise RuntimeError(found)")]:
            put(env, "networks.py", POLICY.format(prelude=prelude, check=check))
            obs, _, _, _, info = env.step("validate")
            assert info["evaluation"]["ok"], obs
            scores.append(info["evaluation"]["scores"])
        assert scores[0] == scores[1]
        for seed in seeds:
            assert str(seed) not in obs
    finally:
        env.close()
