"""The worked example, examples/expert_iteration, end to end on its tiny budget: episodes of the
embedded model, the best kept, one training step, the new weights served by llama.cpp's server
and evaluated, before and after printed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gguf
import pytest

from mlgym.agents import trajectory as trajectories
from mlgym.agents.embedded import find_weights

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "expert_iteration" / "run.py"


@pytest.mark.slow
def test_expert_iteration_example_runs_end_to_end(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, str(EXAMPLE), "--tiny", "--out", str(out)],
                          capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "before" in done.stdout and "after" in done.stdout and "total" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kept"] == 1 and summary["records"] >= 1
    training = summary["training"]
    assert training["steps"] == 1 and len(training["losses"]) == 1 and training["losses"][0] > 0
    for side in ("before", "after"):
        (folder,) = sorted((out / side).iterdir())
        data = trajectories.load(folder)
        assert data["model"] == "openai/smollm2-135m-instruct" and len(data["steps"]) >= 1
        assert summary[side]["episodes"] == 1
    tuned = gguf.GGUFReader(summary["weights"])
    original = gguf.GGUFReader(str(find_weights()))
    assert tuned.fields["tokenizer.chat_template"].contents() == \
        original.fields["tokenizer.chat_template"].contents()
    assert [t.name for t in tuned.tensors] == [t.name for t in original.tensors]
    assert {t.tensor_type.name for t in tuned.tensors} == {"F16", "F32"}
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    collected = trajectories.load(next((out / "collected").iterdir()))
    assert [r["completion"][0]["content"] for r in records] == [
        s["raw_reply"] for s in collected["steps"]]
