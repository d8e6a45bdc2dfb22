"""Materialising datasets: each kind of source, checksums, the cache, clear failures.

The Hugging Face source is exercised against a local HTTP server that answers the hub's
``resolve`` requests the way the hub does (HEAD with ``X-Repo-Commit``/``ETag``, then GET).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
from pathlib import Path

import pytest
import yaml

from mlgym.episode.datasets import MANIFEST, cached_path, materialise
from mlgym.errors import DataUnavailableError
from mlgym.specs import load_dataset

CONTENT = {"train.csv": b"x,y\n1,2\n3,4\n", "sub/test.csv": b"x\n5\n"}
SHA = {name: hashlib.sha256(data).hexdigest() for name, data in CONTENT.items()}


def write_files(folder: Path, content: dict[str, bytes] = CONTENT) -> Path:
    for name, data in content.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def declare(tmp_path: Path, sources: list[dict], dataset_id: str = "toy") -> object:
    folder = tmp_path / f"decl-{dataset_id}"
    folder.mkdir(exist_ok=True)
    data = {"schema_version": 1, "id": dataset_id, "files": [
        {"name": n, "sha256": SHA[n], "size": len(CONTENT[n])} for n in CONTENT],
        "sources": sources}
    (folder / "dataset.yaml").write_text(yaml.safe_dump(data))
    return load_dataset(folder / "dataset.yaml")


def test_files_source_is_verified_cached_and_read_only(tmp_path):
    dataset = declare(tmp_path, [{"files": "shipped"}])
    write_files(tmp_path / "decl-toy" / "shipped")
    cache = tmp_path / "cache"
    folder = materialise(dataset, root=cache)
    assert folder == cache / "toy"
    assert {n: (folder / n).read_bytes() for n in CONTENT} == CONTENT
    assert oct((folder / "train.csv").stat().st_mode & 0o777) == "0o444"
    assert (folder / MANIFEST).is_file()
    # the cached copy is used without the source from now on
    (tmp_path / "decl-toy" / "shipped" / "train.csv").unlink()
    assert materialise(dataset, root=cache) == folder
    assert cached_path(dataset, cache) == folder


def test_package_source(tmp_path, monkeypatch):
    site = tmp_path / "site"
    info = site / "toy_data_pkg-1.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-data-pkg\nVersion: 1.2\n")
    write_files(site / "toy_data_pkg" / "dat")
    monkeypatch.syspath_prepend(str(site))
    dataset = declare(tmp_path, [{"package": {"distribution": "toy-data-pkg",
                                              "path": "toy_data_pkg/dat"}}])
    folder = materialise(dataset, root=tmp_path / "cache")
    assert (folder / "sub" / "test.csv").read_bytes() == CONTENT["sub/test.csv"]


def test_sources_are_tried_in_order_and_checksums_decide(tmp_path):
    wrong = write_files(tmp_path / "wrong", {**CONTENT, "train.csv": b"tampered\n"})
    right = write_files(tmp_path / "right")
    dataset = declare(tmp_path, [
        {"package": {"distribution": "no-such-dist-xyz", "path": "d",
                     "install": "pip install no-such-dist-xyz==1.0"}},
        {"system": {"path": str(wrong), "install": "apt-get install toy-data"}},
        {"system": {"path": str(right)}},
    ])
    folder = materialise(dataset, root=tmp_path / "cache")
    assert (folder / "train.csv").read_bytes() == CONTENT["train.csv"]
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["source"] == {"system": {"path": str(right)}}


def test_no_working_source_says_what_to_install(tmp_path):
    dataset = declare(tmp_path, [
        {"package": {"distribution": "no-such-dist-xyz", "path": "d",
                     "install": "pip install no-such-dist-xyz==1.0"}},
        {"system": {"path": str(tmp_path / "absent"), "install": "apt-get install toy-data"}},
        {"files": "not-shipped"},
    ])
    with pytest.raises(DataUnavailableError) as info:
        materialise(dataset, root=tmp_path / "cache")
    message = str(info.value)
    assert "dataset 'toy'" in message
    assert "`pip install no-such-dist-xyz==1.0`" in message
    assert "apt-get install toy-data" in message
    assert "lacks train.csv, sub/test.csv" in message
    assert not (tmp_path / "cache" / "toy").exists()


def test_a_changed_declaration_invalidates_the_cache(tmp_path):
    source = write_files(tmp_path / "v1")
    dataset = declare(tmp_path, [{"system": {"path": str(source)}}])
    cache = tmp_path / "cache"
    materialise(dataset, root=cache)
    CONTENT_V2 = {**CONTENT, "train.csv": b"x,y\n9,9\n"}
    write_files(source, CONTENT_V2)
    changed = dataset.__class__(**{**vars(dataset), "files": tuple(
        {"name": n, "sha256": hashlib.sha256(d).hexdigest()} for n, d in CONTENT_V2.items())})
    assert cached_path(changed, cache) is None
    assert (materialise(changed, root=cache) / "train.csv").read_bytes() == b"x,y\n9,9\n"


class _Hub(http.server.BaseHTTPRequestHandler):
    """Answers ``/datasets/<owner>/<name>/resolve/<revision>/<path>`` like the hub."""

    files: dict[str, bytes] = {}
    commit = "0123456789abcdef0123456789abcdef01234567"

    def _send(self, body: bool) -> None:
        parts = self.path.split("/resolve/", 1)
        name = parts[1].split("/", 1)[1] if len(parts) == 2 else ""
        if not self.path.startswith("/datasets/toy-org/toy/") or name not in self.files:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = self.files[name]
        self.send_response(200)
        self.send_header("X-Repo-Commit", self.commit)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_HEAD(self):  # noqa: N802
        self._send(body=False)

    def do_GET(self):  # noqa: N802
        self._send(body=True)

    def log_message(self, *args):
        pass


@pytest.fixture
def hub(monkeypatch, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    yield _Hub
    server.shutdown()
    server.server_close()


def test_huggingface_source(tmp_path, hub):
    hub.files = {"data/train.csv": CONTENT["train.csv"], "data/test.csv": CONTENT["sub/test.csv"]}
    dataset = declare(tmp_path, [{"huggingface": {"repo": "toy-org/toy", "revision": "main",
                                                  "files": ["data/train.csv", "data/test.csv"]}}])
    folder = materialise(dataset, root=tmp_path / "cache")
    assert {n: (folder / n).read_bytes() for n in CONTENT} == CONTENT


def test_huggingface_failure_is_explained(tmp_path, hub):
    hub.files = {}
    dataset = declare(tmp_path, [{"huggingface": {"repo": "toy-org/toy"}}])
    with pytest.raises(DataUnavailableError, match="toy-org/toy/train.csv.*Hugging Face hub"):
        materialise(dataset, root=tmp_path / "cache")


def test_task_datasets_are_mounted_read_only(isolating_backend, make_env):
    env = make_env(backend=isolating_backend)
    env.reset()
    obs = env.step("cat data/fixture-numbers/numbers.csv | head -2; "
                   "echo 99,test,1 >> data/fixture-numbers/numbers.csv; echo status=$?")[0]
    assert obs.startswith("id,split,x\n0,dev,41") and "status=1" in obs
    folder = env._prepare()[0]["fixture-numbers"]
    digest = hashlib.sha256((folder / "numbers.csv").read_bytes()).hexdigest()
    assert digest == "b2779f588a256b7918ec18d955a4a029ff45d41e827fcae7c2741a0ee2fb1e51"
    assert os.stat(folder / "numbers.csv").st_uid == os.getuid()
