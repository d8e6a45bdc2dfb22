"""A served environment for the tests: ``mlgym.serve``'s application on a loopback port, run by
uvicorn in a thread of the test process (so the fixture task registered here is served)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from mlgym.serve.app import create_app
from mlgym.serve.sessions import Sessions


class Served:
    def __init__(self, sessions: Sessions, token: str | None = None):
        self.sessions = sessions
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(sessions, token), log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


@pytest.fixture
def serve(mlgym_fixtures):
    """``serve(**sessions_kwargs, token=None)`` -> a running server, stopped after the test."""
    started = []

    def start(token: str | None = None, **kwargs) -> Served:
        kwargs.setdefault("backend", "local")
        served = Served(Sessions(**kwargs), token)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()
