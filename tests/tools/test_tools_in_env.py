"""The first-party bundles through MLGymEnv on bwrap: an agent with no network searches the
literature, reads a PDF, uses its memory and edits the starter code, step by step."""

from __future__ import annotations

import pytest
from mlgym_tools_literature.testing import ScholarlyServer

pytestmark = pytest.mark.bwrap


@pytest.fixture
def env(mlgym_fixtures, bwrap_backend, tmp_path):
    from mlgym.episode import MLGymEnv

    with ScholarlyServer() as server:
        environment = MLGymEnv(
            "fixture-threshold", backend="bwrap", tools=["files", "literature", "memory"],
            service_config={
                "literature": {"semantic_scholar_url": server.url, "arxiv_url": server.url,
                               "min_interval": {}},
                "memory": {"store": str(tmp_path / "memory.json")},
            })
        try:
            yield environment, server
        finally:
            environment.close()


def test_an_offline_agent_searches_reads_remembers_and_edits(env):
    environment, server = env
    _, info = environment.reset(seed=0)
    assert info["state"] == {"open_file": None, "working_dir": "/home/agent/workspace",
                             "memories": 0}

    def step(action: str) -> tuple[str, dict]:
        obs, reward, terminated, truncated, info = environment.step(action)
        assert not terminated and not truncated and reward == 0
        return obs, info

    obs, _ = step(f"python3 -c \"import urllib.request as u; u.urlopen('{server.url}')\"")
    assert "Connection refused" in obs or "unreachable" in obs  # no network in the sandbox

    obs, _ = step("literature_search 'mini-batch normalization' 2")
    assert "1. Batch Normalization: Accelerating Deep Network Training (2015)" in obs
    obs, _ = step(f"parse_pdf {server.url}/pdf/1502.03167 --pages 1")
    assert "--- page 1 ---\nBatch Normalization" in obs

    obs, info = step("memory_write 'normalising mini-batches allows higher learning rates' "
                     "--tags papers")
    assert "Saved memory #1" in obs and info["state"]["memories"] == 1
    obs, _ = step("memory_read 'what allows a larger step size?' --k 1")
    assert "normalising mini-batches" in obs

    obs, info = step("open predict.py")
    assert "[File: /home/agent/workspace/predict.py" in obs
    assert info["state"]["open_file"] == "/home/agent/workspace/predict.py"
    line = next(n for n, text in enumerate(obs.splitlines())
                if text.split(":", 1)[-1].startswith("THRESHOLD = 50"))
    number = obs.splitlines()[line].split(":", 1)[0]
    obs, _ = step(f"edit {number}:{number}\nTHRESHOLD = undefined_value\nend_of_edit")
    assert "Your edit was NOT applied" in obs and "undefined name 'undefined_value'" in obs
    obs, _ = step(f"edit {number}:{number}\nTHRESHOLD = 37\nend_of_edit")
    assert "File updated" in obs and f"{number}:THRESHOLD = 37" in obs

    obs, _ = step("python predict.py")
    assert "threshold 37" in obs
    obs, reward, terminated, _, info = environment.step("validate")
    assert info["scores"]["accuracy"] == 1.0 and reward > 0
