"""The memory store, the embedders and the service's configuration."""

from __future__ import annotations

import json
import multiprocessing
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from mlgym_tools_memory.service import MemoryService
from mlgym_tools_memory.store import MemoryStore

from mlgym.errors import ConfigError, UnknownIdError
from mlgym.plugins import get_registry


def _writer(path: str, worker: int, count: int) -> None:
    store = MemoryStore(path, "test-embedder")
    for i in range(count):
        store.add(f"worker {worker} note {i}", [float(worker), float(i), 1.0], tags=[f"w{worker}"])


def test_four_processes_writing_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "memory.json")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(path, w, 25)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    entries = json.loads((tmp_path / "memory.json").read_text())["entries"]
    assert sorted(e["text"] for e in entries) == sorted(
        f"worker {w} note {i}" for w in range(4) for i in range(25))
    assert sorted(e["id"] for e in entries) == list(range(1, 101))


def test_search_is_cosine_top_k_with_tag_filter(tmp_path):
    store = MemoryStore(tmp_path / "m.json", "test-embedder")
    store.add("east", [1.0, 0.0], tags=["a"])
    store.add("north-east", [1.0, 1.0], tags=["b"])
    store.add("north", [0.0, 5.0], tags=["a", "b"])
    assert [m.entry["text"] for m in store.search([2.0, 0.1], k=2)] == ["east", "north-east"]
    matches = store.search([0.0, 1.0], k=3, tags=["a"])
    assert [m.entry["text"] for m in matches] == ["north", "east"]
    assert matches[0].score == pytest.approx(1.0)
    assert MemoryStore(tmp_path / "m.json", "test-embedder").count() == 3


def test_a_store_written_by_another_embedder_is_refused(tmp_path):
    MemoryStore(tmp_path / "m.json", "model-a").add("x", [1.0])
    with pytest.raises(ConfigError, match="holds embeddings of 'model-a'.*'model-b'"):
        MemoryStore(tmp_path / "m.json", "model-b")


def test_the_minilm_embedder_ranks_related_sentences_first():
    embedder = get_registry().get("embedders", "minilm-int8").factory({})
    query, *texts = embedder.embed([
        "Which learning rate worked best for training the network?",
        "Bananas are a good source of potassium.",
        "A learning rate of 3e-4 gave the lowest validation loss.",
        "Paris is the capital of France.",
        "The cat sleeps on the sofa every afternoon.",
    ])
    scores = [sum(a * b for a, b in zip(query, t, strict=True)) for t in texts]
    assert max(range(4), key=scores.__getitem__) == 1
    assert len(query) == 384 and sum(x * x for x in query) == pytest.approx(1.0, abs=1e-4)


def test_service_misconfiguration_raises_at_start(tmp_path):
    with pytest.raises(ConfigError, match="unknown option 'stor'; did you mean 'store'"):
        MemoryService(tmp_path / "a.sock", {"stor": "x"})
    with pytest.raises(UnknownIdError, match="unknown embedder 'minilm'"):
        MemoryService(tmp_path / "b.sock", {"embedder": "minilm"})
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ConfigError, match="broken.json is not valid JSON"):
        MemoryService(tmp_path / "c.sock", {"store": str(tmp_path / "broken.json")})


class _OpenAIEmbeddings(BaseHTTPRequestHandler):
    """The OpenAI embeddings endpoint: a vector per input, from the letters it contains."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        inputs = request["input"] if isinstance(request["input"], list) else [request["input"]]
        data = [{"object": "embedding", "index": i,
                 "embedding": [float(text.lower().count(c)) for c in "aeiou"]}
                for i, text in enumerate(inputs)]
        body = json.dumps({"object": "list", "data": data, "model": request["model"],
                           "usage": {"prompt_tokens": 3, "total_tokens": 3}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.slow
def test_the_litellm_embedder_calls_an_openai_compatible_server(tmp_path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _OpenAIEmbeddings)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        config = {"model": "openai/test-embedder", "api_key": "x",
                  "api_base": f"http://127.0.0.1:{httpd.server_port}/v1"}
        embedder = get_registry().get("embedders", "litellm").factory(config)
        assert embedder.embed(["aaa", "eio"]) == [[3.0, 0, 0, 0, 0], [0, 1.0, 1.0, 1.0, 0]]
        service = MemoryService(tmp_path / "m.sock", {"embedder": "litellm",
                                                      "embedder_config": config})
        try:
            service.write("banana", [])
            service.write("queue", [])
            assert service.read("aaaa", 1, [])["matches"][0]["text"] == "banana"
        finally:
            service.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    with pytest.raises(ConfigError, match="needs `model`"):
        get_registry().get("embedders", "litellm").factory({})
