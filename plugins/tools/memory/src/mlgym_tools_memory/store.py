"""The memory store: entries (text, tags, embedding, time) in one JSON file, safe to share.

Every write holds a file lock (``filelock``, a ``.lock`` file beside the store) across
read-append-replace, so processes writing at once lose nothing; the file is replaced atomically,
so readers never see half a file and need no lock. File format::

    {"schema_version": 1, "embedder": "minilm-int8:all-MiniLM-L6-v2", "entries": [
        {"id": 1, "text": "...", "tags": ["lr"], "time": "2025-03-01T12:00:00+00:00",
         "episode": "blotto/0", "embedding": [0.01, ...]}]}
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from filelock import FileLock

from mlgym.errors import ConfigError

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Match:
    """One retrieved entry and its cosine similarity to the query."""

    entry: dict
    score: float


class MemoryStore:
    """A JSON file of memory entries written by one embedder."""

    def __init__(self, path: str | Path, embedder_id: str, lock_timeout: float = 60.0):
        self.path = Path(path)
        self.embedder_id = embedder_id
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock", timeout=lock_timeout)
        self._cache_key: tuple | None = None
        self._cache: list[dict] = []
        self._matrix: np.ndarray | None = None
        data = self._read()
        if data is not None and data.get("embedder") not in (None, embedder_id):
            raise ConfigError(f"memory store {self.path} holds embeddings of "
                              f"{data['embedder']!r} but this episode embeds with "
                              f"{embedder_id!r}; use the same embedder or another store path")

    # -- reading ----------------------------------------------------------------------------------

    @staticmethod
    def check_file(path: str | Path) -> None:
        """Raise ConfigError if ``path`` is not a readable store of this version."""
        MemoryStore.read_file(Path(path))

    def _read(self) -> dict | None:
        return self.read_file(self.path)

    @staticmethod
    def read_file(path: Path) -> dict | None:
        """The store's JSON (None if missing or empty); ConfigError if it is not a store."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        if not text.strip():
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"memory store {path} is not valid JSON ({exc}); move it "
                              "away to start a new store") from None
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            data = data if isinstance(data, dict) else {}
            raise ConfigError(f"memory store {path} has schema_version "
                              f"{data.get('schema_version')!r}; this version reads "
                              f"{SCHEMA_VERSION}")
        return data

    def entries(self) -> list[dict]:
        """Every entry, oldest first (re-read only when the file changed)."""
        try:
            st = self.path.stat()
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            return []
        if key != self._cache_key:
            data = self._read() or {}
            self._cache = data.get("entries", [])
            self._matrix = None
            self._cache_key = key
        return self._cache

    def count(self) -> int:
        return len(self.entries())

    # -- writing ----------------------------------------------------------------------------------

    def add(self, text: str, embedding: list[float], tags: list[str] = (),
            episode: str | None = None) -> dict:
        """Append one entry under the lock; returns it with its id."""
        with self._lock:
            data = self._read() or {"schema_version": SCHEMA_VERSION, "embedder": self.embedder_id,
                                    "entries": []}
            entries = data["entries"]
            entry = {
                "id": (max((e["id"] for e in entries), default=0) + 1),
                "text": text,
                "tags": sorted(set(tags)),
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
                "episode": episode,
                "embedding": [round(float(x), 6) for x in embedding],
            }
            entries.append(entry)
            self._replace(data)
        return entry

    def _replace(self, data: dict) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- retrieval --------------------------------------------------------------------------------

    def search(self, query: list[float], k: int = 5, tags: list[str] = ()) -> list[Match]:
        """The ``k`` entries most similar to ``query`` (cosine), restricted to any of ``tags``."""
        entries = self.entries()
        if not entries:
            return []
        if self._matrix is None:
            matrix = np.asarray([e["embedding"] for e in entries], dtype=np.float32)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            self._matrix = matrix / np.clip(norms, 1e-12, None)
        q = np.asarray(query, dtype=np.float32)
        if q.shape[0] != self._matrix.shape[1]:
            raise ConfigError(f"query embedding has {q.shape[0]} dimensions, the store "
                              f"{self.path} has {self._matrix.shape[1]}")
        scores = self._matrix @ (q / max(float(np.linalg.norm(q)), 1e-12))
        wanted = set(tags)
        candidates = [i for i, e in enumerate(entries) if not wanted or wanted & set(e["tags"])]
        best = sorted(candidates, key=lambda i: -scores[i])[:k]
        return [Match(entries[i], float(scores[i])) for i in best]
