"""The players of one evaluation: a fresh sandboxed process for every connection of the referee.

The evaluator (the referee) runs with ``MLGYM_PLAYER_SOCKET`` naming a unix socket that this
side listens on. Each connection to it starts one player through
:meth:`Sandbox.start_player <mlgym.sandbox.base.Sandbox.start_player>`; the player connects to a
socket of its own, and the bytes are relayed both ways until either side closes, when the player
and its sandbox are killed. So the referee and the player never share a file system, a process
tree or a socket, and nothing of one player survives into the next: a timed run that opens a new
connection gets a new process in a new sandbox with an empty ``/tmp``.

Players start one at a time (a second connection waits for the first to end), at most
``max_starts`` per evaluation; a player that does not connect within ``start_timeout`` is killed
and the referee's connection closed, which its half of the protocol reports as ``exited``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlgym.sandbox import leftovers
from mlgym.sandbox.base import Limits, Mount, PlayerProcess, Sandbox

log = logging.getLogger(__name__)

LINK_DIR = "/mlgym/link"  # inside the referee's and each player's sandbox
REFEREE_SOCKET = "referee.sock"
PLAYER_SOCKET = "player.sock"
PLAYER_STDERR_KEPT = 16 * 1024  # characters of the players' stderr kept per evaluation
RELAY_BUFFER = 64 << 20  # bytes held for a side that does not read


@dataclass(frozen=True)
class PlayerSetup:
    """How a task's player is started (from ``task.yaml``'s ``player``)."""

    argv: list[str]
    cwd: str
    mounts: list[Mount]
    env: dict[str, str]
    limits: Limits
    call_timeout: float = 60.0
    start_timeout: float = 30.0
    max_starts: int = 8
    workspace: Path | None = None  # shown in place of the live workspace (a player's view)


@dataclass
class PlayerLog:
    """What the players of one evaluation did, for the evaluation's record."""

    starts: int = 0
    refused: int = 0  # connections beyond max_starts
    start_failures: list[str] = field(default_factory=list)
    stderr: str = ""  # the end of the players' stderr, for the dev split's observation

    def keep(self, text: str) -> None:
        self.stderr = (self.stderr + text)[-PLAYER_STDERR_KEPT:]


class PlayerLink:
    """Serve the referee's connections for one evaluation; use as a context manager."""

    def __init__(self, sandbox: Sandbox, setup: PlayerSetup, parent: Path | None = None):
        self.sandbox = sandbox
        self.setup = setup
        self.log = PlayerLog()
        self.root = Path(tempfile.mkdtemp(prefix="mlgym-link-", dir=parent))
        os.chmod(self.root, 0o755)
        leftovers.claim(self.root)
        self._referee_dir = self.root / "referee"
        self._referee_dir.mkdir(mode=0o755)
        self._listener = _listen(self._referee_dir / REFEREE_SOCKET)
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()  # close() wakes the serving thread at once
        self._player: PlayerProcess | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="mlgym-players")

    # -- what the referee gets ----------------------------------------------------------------

    def mounts(self) -> list[Mount]:
        """The referee's view of the link: the folder holding its socket."""
        return [Mount(self._referee_dir, LINK_DIR)]

    def env(self) -> dict[str, str]:
        return {"MLGYM_PLAYER_SOCKET": f"{LINK_DIR}/{REFEREE_SOCKET}",
                "MLGYM_PLAYER_CALL_TIMEOUT": f"{self.setup.call_timeout:g}"}

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> PlayerLink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, kill the player that runs, remove the sockets. Safe to call twice."""
        if self._stop.is_set():
            return
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        self._kill_player()  # first: a relay blocked on a stuck player returns once it is gone
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._kill_player()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            self._listener.close()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- serving ------------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._listener.fileno(), self._wake_r], [], [])
                if self._wake_r in ready:
                    return
                referee, _ = self._listener.accept()
            except (OSError, ValueError):  # the listener was closed
                return
            with referee:
                if self.log.starts >= self.setup.max_starts:
                    self.log.refused += 1
                    continue
                self.log.starts += 1
                try:
                    self._play(referee, self.log.starts)
                except Exception as exc:  # a player that cannot start fails only this connection
                    self.log.start_failures.append(f"{type(exc).__name__}: {exc}")
                    log.warning("player %d could not run: %s", self.log.starts, exc)
                finally:
                    self._kill_player()

    def _play(self, referee: socket.socket, number: int) -> None:
        folder = self.root / f"player-{number}"
        folder.mkdir(mode=0o755)
        listener = _listen(folder / PLAYER_SOCKET)
        try:
            setup = self.setup
            started = self.sandbox.start_player(
                setup.argv, cwd=setup.cwd, mounts=[*setup.mounts, Mount(folder, LINK_DIR)],
                env={**setup.env, "MLGYM_PLAYER_SOCKET": f"{LINK_DIR}/{PLAYER_SOCKET}"},
                limits=setup.limits, workspace=setup.workspace)
            with self._lock:
                self._player = started
            if self._stop.is_set():
                return
            player = self._accept_player(listener)
        finally:
            listener.close()
        if player is None:
            return
        with player:
            _relay(referee, player, self._stop)

    def _accept_player(self, listener: socket.socket) -> socket.socket | None:
        deadline = time.monotonic() + self.setup.start_timeout
        while not self._stop.is_set() and time.monotonic() < deadline:
            ready, _, _ = select.select([listener], [], [], 0.1)
            if ready:
                conn, _ = listener.accept()
                return conn
            if self._player is not None and not self._player.alive():
                return None  # it died before connecting; the referee sees its connection close
        if not self._stop.is_set():
            self.log.start_failures.append(
                f"the player did not connect within {self.setup.start_timeout:g} s")
        return None

    def _kill_player(self) -> None:
        with self._lock:
            player, self._player = self._player, None
        if player is not None:
            try:
                player.kill()
            finally:
                self.log.keep(player.stderr())


def _listen(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # a socket's path may hold 107 bytes at most, and a long TMPDIR passes that: bind
        # through the folder's descriptor instead, whose path is always short
        sock.bind(f"/proc/self/fd/{folder}/{path.name}")
    finally:
        os.close(folder)
    os.chmod(path, 0o666)  # the referee and the player run under uids of their own
    sock.listen(4)
    return sock


def _relay(a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
    """Copy bytes both ways until one side closes or ``stop`` is set. Non-blocking with a
    buffer per direction, so neither side can stall the other by not reading; a side whose
    buffer holds ``RELAY_BUFFER`` bytes is not read from until its peer catches up."""
    for sock in (a, b):
        sock.setblocking(False)
    pending = {a: bytearray(), b: bytearray()}  # bytes waiting to be written *to* that socket
    peer = {a: b, b: a}
    while not stop.is_set():
        readable = [s for s in (a, b) if len(pending[peer[s]]) < RELAY_BUFFER]
        writable = [s for s in (a, b) if pending[s]]
        ready_r, ready_w, _ = select.select(readable, writable, [], 0.2)
        for sock in ready_w:
            try:
                sent = sock.send(pending[sock])
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                return
            del pending[sock][:sent]
        for sock in ready_r:
            try:
                data = sock.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                _drain(peer[sock], pending[peer[sock]])
                return
            pending[peer[sock]] += data


def _drain(sock: socket.socket, data: bytearray, timeout: float = 5.0) -> None:
    """Write what is left for ``sock`` before the link closes (an answer, then EOF)."""
    sock.setblocking(True)
    sock.settimeout(timeout)
    with contextlib.suppress(OSError):
        sock.sendall(data)
