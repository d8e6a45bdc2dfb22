"""The episodes a server holds: one environment per session, a session limit, an idle timeout."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlgym.errors import ConfigError, MLGymError

PROTOCOL = "mlgym-serve/1"
# what a client may set when it opens a session; the backend and limits are the server's
CLIENT_OPTIONS = ("protocol", "max_steps", "time_limit", "cost_limit", "tools")


class SessionLimitReached(MLGymError, RuntimeError):
    """Every session slot is taken."""


class UnknownSession(MLGymError, KeyError):
    """No open session has that id (it was closed, or timed out)."""


@dataclass
class Session:
    id: str
    task: str
    seed: int | None
    env: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    steps: int = 0
    over: bool = False
    info: dict = field(default_factory=dict)

    def state(self) -> dict:
        return {"session": self.id, "task": self.task, "seed": self.seed, "steps": self.steps,
                "over": self.over, "info": self.info}


EnvFactory = Callable[..., Any]


def default_env_factory(task: str, backend: str | None, **options):
    from mlgym.episode import MLGymEnv

    return MLGymEnv(task, backend=backend, **options)


class Sessions:
    """The open sessions. Thread-safe; environment calls run outside the table's lock."""

    def __init__(self, *, backend: str | None = None, tasks: list[str] | None = None,
                 max_sessions: int = 4, idle_timeout: float = 600.0,
                 env_factory: EnvFactory = default_env_factory):
        if max_sessions < 1:
            raise ConfigError(f"max_sessions={max_sessions}: give at least 1")
        if idle_timeout <= 0:
            raise ConfigError(f"idle_timeout={idle_timeout}: give a positive number of seconds")
        self.backend = backend
        self.tasks = list(tasks) if tasks else None
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self.env_factory = env_factory
        self._sessions: dict[str, Session] = {}
        self._reserved = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions) + self._reserved

    def open(self, task: str, seed: int | None = None, options: dict | None = None) -> tuple[Session, str]:
        """Start an episode; returns the session and the first observation."""
        options = dict(options or {})
        unknown = sorted(set(options) - set(CLIENT_OPTIONS))
        if unknown:
            raise ConfigError(f"options {unknown} cannot be set by a client; it may set "
                              f"{', '.join(CLIENT_OPTIONS)}")
        if self.tasks is not None and task not in self.tasks:
            raise ConfigError(f"task {task!r} is not served here; served: {', '.join(self.tasks)}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"seed={seed!r}: give an integer or null")
        self.close_idle()
        with self._lock:
            if len(self) >= self.max_sessions:
                raise SessionLimitReached(f"all {self.max_sessions} sessions are in use; close "
                                          "one or wait for an idle one to time out")
            self._reserved += 1
        env = None
        try:
            env = self.env_factory(task, self.backend, **options)
            observation, info = env.reset(seed=seed)
        except BaseException:
            if env is not None:
                env.close()
            with self._lock:
                self._reserved -= 1
            raise
        session = Session(id=secrets.token_urlsafe(12), task=task, seed=seed, env=env, info=info)
        with self._lock:
            self._reserved -= 1
            self._sessions[session.id] = session
        return session, observation

    def get(self, session_id: str) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise UnknownSession(f"no open session {session_id!r} (closed, or idle for more "
                                 f"than {self.idle_timeout:g} s)")
        session.last_used = time.monotonic()
        return session

    def step(self, session_id: str, action: str) -> tuple[str, float, bool, bool, dict]:
        session = self.get(session_id)
        with session.lock:
            observation, reward, terminated, truncated, info = session.env.step(action)
            session.steps += 1
            session.over = terminated or truncated
            session.info = info
            session.last_used = time.monotonic()
        return observation, reward, terminated, truncated, info

    def close(self, session_id: str) -> bool:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        with session.lock:
            session.env.close()
        return True

    def close_idle(self) -> list[str]:
        """Close the sessions idle for longer than the timeout; returns their ids."""
        now = time.monotonic()
        with self._lock:
            idle = [s.id for s in self._sessions.values()
                    if now - s.last_used > self.idle_timeout and not s.lock.locked()]
        return [i for i in idle if self.close(i)]

    def close_all(self) -> None:
        with self._lock:
            ids = list(self._sessions)
        for session_id in ids:
            self.close(session_id)
