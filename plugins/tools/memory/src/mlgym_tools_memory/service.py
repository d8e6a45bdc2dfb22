"""The memory service: embeds and stores what ``memory_write`` sends, answers ``memory_read``.

Started by the environment once per episode, outside the sandbox, on a Unix socket bound into it.
The embedder is loaded once, in the background as the service starts, so the first request may
wait for it but later ones do not. Operations (JSON over HTTP, see
:class:`mlgym.specs.JSONSocketServer`):

- ``write`` ``{"text", "tags"}`` -> ``{"entry": {...}, "count"}``
- ``read`` ``{"query", "k", "tags"}`` -> ``{"matches": [...], "count", "text"}``
- ``count`` ``{}`` -> ``{"count"}``

Configuration (every key optional):

- ``store``: the path of the JSON store. Default: ``memory.json`` beside the socket, one store
  per episode; give every episode of a run the same path to share the store.
- ``embedder``: an embedder plugin id (default ``minilm-int8``), ``embedder_config`` its options
  (``litellm``: ``model``, ``api_base``, ``api_key_env``).
- ``episode``: a label stored with each entry (e.g. ``task/seed``).
"""

from __future__ import annotations

import difflib
import threading
from pathlib import Path

from mlgym.errors import ConfigError
from mlgym.specs import JSONSocketServer, ServiceRequestError
from mlgym_tools_memory.store import MemoryStore

OPTIONS = ("store", "embedder", "embedder_config", "episode")
MAX_TEXT_CHARS = 10_000
MAX_K = 50
SHOWN_CHARS = 2_000


def _check_options(config: dict) -> None:
    for key in config:
        if key not in OPTIONS:
            near = difflib.get_close_matches(key, OPTIONS, n=1)
            hint = f"did you mean {near[0]!r}?" if near else f"known options: {', '.join(OPTIONS)}"
            raise ConfigError(f"memory service: unknown option {key!r}; {hint}")


def embedder_spec(embedder_id: str):
    """The installed embedder plugin ``embedder_id`` (UnknownIdError names the installed ones)."""
    from mlgym.plugins import get_registry

    return get_registry().get("embedders", embedder_id)


class MemoryService:
    """A running memory service; ``close()`` stops it (the store stays on disk)."""

    def __init__(self, socket_path: str | Path, config: dict | None = None, embedder=None):
        config = dict(config or {})
        _check_options(config)
        self.store_path = Path(config.get("store") or Path(socket_path).parent / "memory.json")
        self.episode = config.get("episode")
        self._embedder = embedder
        self._store: MemoryStore | None = None
        self._load_error: BaseException | None = None
        self._ready = threading.Event()
        if self.store_path.exists():
            MemoryStore.check_file(self.store_path)  # a broken store is misconfiguration: fail now
        if embedder is None:
            spec = embedder_spec(config.get("embedder", "minilm-int8"))
            options = dict(config.get("embedder_config") or {})
            threading.Thread(target=self._load, args=(spec, options), name="memory-embedder",
                             daemon=True).start()
        else:
            self._open_store()
        self.server = JSONSocketServer(socket_path, self.handle, name="memory")

    def _load(self, spec, embedder_config: dict) -> None:
        try:
            self._embedder = spec.factory(embedder_config)
            self._open_store(spec.id)
        except BaseException as exc:  # reported to every request instead of dying silently
            self._load_error = exc
            self._ready.set()

    def _open_store(self, default_id: str = "custom") -> None:
        # the embedder's own id (model and version) if it has one, else its plugin id
        self._store = MemoryStore(self.store_path, getattr(self._embedder, "id", default_id))
        self._ready.set()

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the embedder is loaded; raise what went wrong if it failed."""
        if not self._ready.wait(timeout):
            raise TimeoutError("the memory embedder is still loading")
        if self._load_error is not None:
            raise self._load_error

    @property
    def store(self) -> MemoryStore:
        self.wait_ready()
        return self._store

    # -- operations ---------------------------------------------------------------------------

    def handle(self, operation: str, request: dict) -> dict:
        if operation == "count" and not self._ready.is_set():  # no need to wait for the model
            data = MemoryStore.read_file(self.store_path) or {}
            return {"count": len(data.get("entries", []))}
        try:
            self.wait_ready(timeout=300)
        except Exception as exc:
            raise ServiceRequestError(f"the memory service could not start: {exc}", 503) from None
        if operation == "write":
            return self.write(request.get("text"), request.get("tags") or [])
        if operation == "read":
            return self.read(request.get("query"), request.get("k", 5), request.get("tags") or [])
        if operation == "count":
            return {"count": self._store.count()}
        raise ServiceRequestError(f"unknown operation {operation!r}; use write, read or count", 404)

    def write(self, text, tags) -> dict:
        text = str(text or "").strip()
        if not text:
            raise ServiceRequestError("nothing to remember: give a text, e.g. "
                                      "memory_write 'lr 3e-4 beat 1e-3 on val loss' --tags lr")
        if len(text) > MAX_TEXT_CHARS:
            raise ServiceRequestError(f"a memory holds at most {MAX_TEXT_CHARS} characters; this "
                                      f"one has {len(text)}: split it or summarise it")
        tags = _tags(tags)
        vector = self._embedder.embed([text])[0]
        entry = self._store.add(text, vector, tags, self.episode)
        count = self._store.count()
        shown = {k: v for k, v in entry.items() if k != "embedding"}
        tag_note = f" (tags: {', '.join(tags)})" if tags else ""
        return {"entry": shown, "count": count,
                "text": f"Saved memory #{entry['id']}{tag_note}. The store holds {count} "
                        f"memor{'y' if count == 1 else 'ies'}."}

    def read(self, query, k, tags) -> dict:
        query = str(query or "").strip()
        if not query:
            raise ServiceRequestError("give a query, e.g. memory_read 'best learning rate' --k 3")
        try:
            k = int(k)
        except (TypeError, ValueError):
            raise ServiceRequestError(f"k must be an integer, got {k!r}") from None
        if not 1 <= k <= MAX_K:
            raise ServiceRequestError(f"k must be between 1 and {MAX_K}, got {k}")
        tags = _tags(tags)
        matches = self._store.search(self._embedder.embed([query])[0], k, tags)
        count = self._store.count()
        rows = [{**{key: v for key, v in m.entry.items() if key != "embedding"},
                 "score": round(m.score, 4)} for m in matches]
        return {"matches": rows, "count": count, "text": _format(query, rows, count, tags)}

    def close(self) -> None:
        self.server.close()


def _tags(tags) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    out = []
    for tag in tags:
        out += [t.strip() for t in str(tag).split(",") if t.strip()]
    return sorted(set(out))


def _format(query: str, rows: list[dict], count: int, tags: list[str]) -> str:
    where = f" with tags {', '.join(tags)}" if tags else ""
    if not count:
        return "The memory is empty: save something first with memory_write."
    if not rows:
        return f"No memories{where} (the store holds {count})."
    lines = [f'{len(rows)} of {count} memories{where}, most similar to "{query}" first:']
    for i, row in enumerate(rows, 1):
        text = row["text"]
        if len(text) > SHOWN_CHARS:
            text = text[:SHOWN_CHARS] + f" ... [cut: {len(text) - SHOWN_CHARS} more characters]"
        tag_note = f", tags: {', '.join(row['tags'])}" if row["tags"] else ""
        lines.append(f"{i}. [#{row['id']}, similarity {row['score']:.2f}, {row['time']}{tag_note}]")
        lines.append(f"   {text}")
    return "\n".join(lines)


def start(socket_path: str | Path, config: dict | None = None) -> MemoryService:
    """Start the memory service on ``socket_path`` (the :class:`ServiceSpec` entry)."""
    return MemoryService(socket_path, config)
