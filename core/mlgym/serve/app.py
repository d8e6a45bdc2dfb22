"""The HTTP application of ``mlgym serve`` (Starlette): the routes of ``mlgym-serve/1``.

Environment calls block (a command runs in a sandbox), so they run in Starlette's thread pool;
one session's calls are serialised by its lock. A request body is at most :data:`MAX_BODY`
bytes. With a token, every request must carry ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mlgym.errors import ConfigError, MLGymError
from mlgym.serve.sessions import PROTOCOL, SessionLimitReached, Sessions, UnknownSession

MAX_BODY = 2 * 1024 * 1024
log = logging.getLogger(__name__)


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def create_app(sessions: Sessions, token: str | None = None) -> Starlette:
    """The application serving ``sessions``; ``token`` (if any) is required on every request."""

    def spaces(env) -> dict:
        return {name: {"type": "text", "min_length": space.min_length,
                       "max_length": space.max_length}
                for name, space in (("observation", env.observation_space),
                                    ("action", env.action_space))}

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"protocol": PROTOCOL, "sessions": len(sessions),
                             "max_sessions": sessions.max_sessions,
                             "idle_timeout": sessions.idle_timeout, "tasks": sessions.tasks})

    async def open_session(request: Request) -> JSONResponse:
        body = await _body(request)
        task = body.get("task")
        if not isinstance(task, str) or not task:
            raise _Refused(400, "give the task id as \"task\"")
        options = body.get("options") or {}
        if not isinstance(options, dict):
            raise _Refused(400, "\"options\" must be an object")
        session, observation = await run_in_threadpool(sessions.open, task, body.get("seed"),
                                                       options)
        return JSONResponse({"session": session.id, "observation": observation,
                             "info": session.info, "spaces": spaces(session.env)}, status_code=201)

    async def step(request: Request) -> JSONResponse:
        body = await _body(request)
        action = body.get("action")
        if not isinstance(action, str):
            raise _Refused(400, "give the action as a string \"action\"")
        observation, reward, terminated, truncated, info = await run_in_threadpool(
            sessions.step, request.path_params["session"], action)
        return JSONResponse({"observation": observation, "reward": reward,
                             "terminated": terminated, "truncated": truncated, "info": info})

    async def state(request: Request) -> JSONResponse:
        session = sessions.get(request.path_params["session"])
        return JSONResponse({**session.state(), "spaces": spaces(session.env)})

    async def close(request: Request) -> JSONResponse:
        closed = await run_in_threadpool(sessions.close, request.path_params["session"])
        if not closed:
            raise _Refused(404, f"no open session {request.path_params['session']!r}")
        return JSONResponse({"closed": True})

    async def sweep_idle() -> None:
        period = max(0.5, min(30.0, sessions.idle_timeout / 4))
        while True:
            await asyncio.sleep(period)
            await run_in_threadpool(sessions.close_idle)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        sweeper = asyncio.create_task(sweep_idle())
        try:
            yield
        finally:
            sweeper.cancel()
            await run_in_threadpool(sessions.close_all)

    def guarded(handler):
        async def endpoint(request: Request) -> JSONResponse:
            try:
                if token is not None:
                    _check_token(request, token)
                return await handler(request)
            except _Refused as exc:
                return _error(exc.status, exc.message, "refused")
            except SessionLimitReached as exc:
                return _error(429, str(exc), "session_limit")
            except UnknownSession as exc:
                return _error(404, str(exc.args[0]), "unknown_session")
            except ConfigError as exc:
                return _error(400, str(exc), "config")
            except MLGymError as exc:
                return _error(500, str(exc), type(exc).__name__)
            except Exception as exc:  # a bug: the client learns its kind, the log has the rest
                log.exception("serving %s", request.url.path)
                return _error(500, f"internal error ({type(exc).__name__})", "internal")
        return endpoint

    routes = [
        Route("/v1/health", guarded(health), methods=["GET"]),
        Route("/v1/sessions", guarded(open_session), methods=["POST"]),
        Route("/v1/sessions/{session}/step", guarded(step), methods=["POST"]),
        Route("/v1/sessions/{session}", guarded(state), methods=["GET"]),
        Route("/v1/sessions/{session}", guarded(close), methods=["DELETE"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sessions = sessions
    return app


def _check_token(request: Request, token: str) -> None:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise _Refused(401, "missing or wrong token: send 'Authorization: Bearer <token>'")


async def _body(request: Request) -> dict[str, Any]:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise _Refused(413, f"request body over {MAX_BODY} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise _Refused(413, f"request body over {MAX_BODY} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise _Refused(400, "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise _Refused(400, "the request body must be a JSON object")
    return body


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": message, "kind": kind}, status_code=status)
