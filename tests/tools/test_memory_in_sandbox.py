"""memory_write and memory_read from inside a sandbox, through the memory service.

Needs bubblewrap: the sandbox is ``bwrap`` (or ``$MLGYM_TEST_BACKEND``), and where it does not
work these tests skip -- which fails the run under CI (see ``tests/skips.yaml``).
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.bwrap


@pytest.fixture
def box(tool_sandbox, tmp_path):
    return tool_sandbox(["memory"], {"memory": {"store": str(tmp_path / "store" / "memory.json"),
                                                "episode": "test/0"}})


NOTES = [
    ("Lowering the learning rate to 3e-4 gave the best validation loss.", "lr,results"),
    ("The cat sleeps on the sofa every afternoon.", ""),
    ("Paris is the capital of France.", ""),
    ("Bananas are a good source of potassium.", "food"),
]


def _write_all(box):
    for text, tags in NOTES:
        result = box.run(f"memory_write '{text}'" + (f" --tags {tags}" if tags else ""))
        assert result.exit_code == 0, result.output


def test_a_related_memory_ranks_above_unrelated_ones(box):
    assert box.state() == {"memories": 0}
    _write_all(box)
    out = box.out('memory_read "which step size worked best for training?" --k 4')
    assert out.startswith('4 of 4 memories, most similar to "which step size worked best for '
                          'training?" first:')
    first = out.splitlines()[1:3]
    assert "#1, similarity" in first[0] and "tags: lr, results" in first[0]
    assert first[1].strip() == NOTES[0][0]
    assert box.state() == {"memories": 4}


def test_memories_are_stored_with_text_tags_time_and_embedding(box, tmp_path):
    out = box.out("memory_write 'batch size 64 fits in memory' --tags hardware,batch")
    assert out == "Saved memory #1 (tags: batch, hardware). The store holds 1 memory.\n"
    store = json.loads((tmp_path / "store" / "memory.json").read_text())
    entry = store["entries"][0]
    assert entry["text"] == "batch size 64 fits in memory"
    assert entry["tags"] == ["batch", "hardware"] and entry["episode"] == "test/0"
    assert len(entry["embedding"]) == 384 and entry["time"].endswith("+00:00")


def test_tags_restrict_the_search_and_k_limits_it(box):
    _write_all(box)
    out = box.out("memory_read 'anything at all' --tags food")
    assert out.count("similarity") == 1 and "Bananas" in out
    assert box.out("memory_read fruit --k 2").count("similarity") == 2
    assert "No memories with tags nothing" in box.out("memory_read fruit --tags nothing")


def test_misuse_gets_a_helpful_error(box):
    assert "The memory is empty" in box.out("memory_read anything")
    for action, message in [("memory_write", "Usage: memory_write"),
                            ("memory_read", "Usage: memory_read"),
                            ("memory_read x --k many", "--k takes a number"),
                            ("memory_read x --k 500", "k must be between 1 and 50"),
                            ("memory_write x --tags", "--tags needs a value")]:
        result = box.run(action)
        assert result.exit_code == 1 and message in result.output, action


@pytest.mark.slow
def test_four_agents_processes_writing_at_once_lose_nothing(box, tmp_path):
    script = ("for p in 1 2 3 4; do (for i in $(seq 1 10); do memory_write \"note $p.$i\" "
              ">/dev/null; done) & done; wait")
    box.run(script, timeout=300)
    assert box.state() == {"memories": 40}
    store = json.loads((tmp_path / "store" / "memory.json").read_text())
    texts = sorted(e["text"] for e in store["entries"])
    assert texts == sorted(f"note {p}.{i}" for p in range(1, 5) for i in range(1, 11))
    assert sorted(e["id"] for e in store["entries"]) == list(range(1, 41))


def test_a_store_shared_by_a_run_carries_memories_to_the_next_episode(tool_sandbox, tmp_path):
    shared = {"memory": {"store": str(tmp_path / "run-memory.json")}}
    first = tool_sandbox(["memory"], shared)
    first.run("memory_write 'dropout 0.1 helped the small model' --tags regularisation")
    first.services["memory"].close()
    first.sandbox.close()
    second = tool_sandbox(["memory"], shared)
    assert second.state() == {"memories": 1}
    assert "dropout 0.1 helped" in second.out("memory_read 'what regularisation helped?'")


def test_without_the_service_the_tools_say_so(tool_sandbox):
    box = tool_sandbox(["memory"])
    box.services["memory"].close()
    result = box.run("memory_read x")
    assert result.exit_code == 1 and "Could not reach the memory service" in result.output
    assert box.state() == {"memories": None}
