"""The Gymnasium environment over HTTP: ``mlgym serve`` and a client that is a ``gymnasium.Env``.

- :mod:`~mlgym.serve.sessions`: the episodes being served, one :class:`MLGymEnv` each, with a
  limit on how many run at once and an idle timeout;
- :mod:`~mlgym.serve.app`: the Starlette application (JSON over HTTP, token check);
- :mod:`~mlgym.serve.client`: :class:`RemoteEnv`, the thin client (``httpx``), itself a
  ``gymnasium.Env`` that passes ``check_env``.

The protocol (``mlgym-serve/1``), all JSON:

==========================================  =====================================================
``GET /v1/health``                          ``{"protocol", "sessions", "max_sessions", "tasks"}``
``POST /v1/sessions``                       open a session and reset its episode: body
                                            ``{"task", "seed", "options"}``; returns
                                            ``{"session", "observation", "info", "spaces"}``
``POST /v1/sessions/{id}/step``             ``{"action"}`` -> ``{"observation", "reward",
                                            "terminated", "truncated", "info"}``
``GET /v1/sessions/{id}``                   the session's state: task, seed, steps, whether the
                                            episode is over, the last ``info``
``DELETE /v1/sessions/{id}``                close the episode (its sandbox is removed)
==========================================  =====================================================

One session is one episode: the client's ``reset`` closes its session and opens a new one. The
sandbox backend is the server's choice, never the client's: a client picks only the task, the
seed and the options in :data:`~mlgym.serve.sessions.CLIENT_OPTIONS`.

Layer: imports :mod:`mlgym.errors`, :mod:`mlgym.episode` and :mod:`mlgym.plugins`; the command
line (:mod:`mlgym.cli.serve`) imports it.
"""

from mlgym.serve.client import RemoteEnv, RemoteEnvError
from mlgym.serve.sessions import CLIENT_OPTIONS, PROTOCOL, SessionLimitReached, Sessions

__all__ = ["CLIENT_OPTIONS", "PROTOCOL", "RemoteEnv", "RemoteEnvError", "SessionLimitReached",
           "Sessions"]
