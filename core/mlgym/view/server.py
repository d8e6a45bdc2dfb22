"""Serving the viewer with uvicorn: on a socket bound before the URL is printed, so port 0
(any free port) gives a URL that works."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from mlgym.errors import ConfigError
from mlgym.view.index import EpisodeIndex

LOOPBACK = "127.0.0.1"


def bind(host: str = LOOPBACK, port: int = 0) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc}); give another --port, or "
                          "--port 0 for any free one") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def make_index(results: Sequence[str | Path], cache: bool = True) -> EpisodeIndex:
    """The index of ``results``, built (with the on-disk cache unless ``cache`` is False)."""
    from mlgym.locations import cache_dir

    return EpisodeIndex(results, cache_dir=cache_dir() / "view" if cache else None).build()


class Viewer:
    """The viewer served from a background thread (``with Viewer(index) as v: v.url``)."""

    def __init__(self, index: EpisodeIndex, host: str = LOOPBACK, port: int = 0):
        import uvicorn

        from mlgym.view.app import create_app

        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        config = uvicorn.Config(create_app(index), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True, name="mlgym-view")

    def __enter__(self) -> Viewer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def serve(index: EpisodeIndex, host: str = LOOPBACK, port: int = 0, announce=print) -> None:
    """Serve the viewer in this thread until Ctrl-C."""
    import uvicorn

    from mlgym.view.app import create_app

    sock = bind(host, port)
    announce(f"mlgym view: {len(index.rows)} episodes at {url_of(sock)} (Ctrl-C to stop)")
    config = uvicorn.Config(create_app(index), log_level="warning", lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
