"""``mlgym serve``: the Gymnasium environment over HTTP (see :mod:`mlgym.serve`)."""

from __future__ import annotations

import argparse
import ipaddress
import secrets
import sys

LOOPBACK_NAMES = ("localhost",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="serve MLGym episodes over HTTP",
        description="Serve MLGym environments over HTTP (JSON: reset, step, state, close; one "
                    "session per episode) so that trainers in other processes or on other "
                    "machines drive episodes; the Python client is mlgym.serve.RemoteEnv. "
                    "Binds loopback by default; bound to any other address it requires a "
                    "token (given, or made and printed).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks one)")
    p.add_argument("--task", action="append", help="serve only this task (repeatable; "
                   "default: every installed task)")
    p.add_argument("--backend", help="sandbox backend of every episode (default: bwrap where "
                   "it works, else local, which is refused off loopback); clients cannot "
                   "choose it")
    p.add_argument("--max-sessions", type=int, default=4, help="episodes open at once (default 4)")
    p.add_argument("--idle-timeout", type=float, default=600.0, help="seconds after which an "
                   "unused session is closed (default 600)")
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN' (env MLGYM_SERVE_TOKEN;"
                   " required off loopback: made and printed when not given)")
    p.set_defaults(func=cmd_serve)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args) -> int:
    import os
    import socket

    import uvicorn

    from mlgym.errors import ConfigError
    from mlgym.sandbox.plugin import default_backend
    from mlgym.serve.app import create_app
    from mlgym.serve.sessions import Sessions

    backend = args.backend or default_backend()
    if backend == "local" and not is_loopback(args.host):
        raise ConfigError("the local backend runs every client's commands unisolated on this "
                          "machine: serve it on loopback only, or give --backend bwrap or docker")
    token = args.token or os.environ.get("MLGYM_SERVE_TOKEN") or None
    if token is None and not is_loopback(args.host):
        token = secrets.token_urlsafe(24)
        print(f"token (clients send 'Authorization: Bearer <token>'): {token}", flush=True)
    if args.task:
        from mlgym.plugins.registry import get_registry

        registry = get_registry()
        for task in args.task:
            registry.task(task)  # an unknown id fails now, with the near matches
    sessions = Sessions(backend=backend, tasks=args.task, max_sessions=args.max_sessions,
                        idle_timeout=args.idle_timeout)
    app = create_app(sessions, token)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    host, port = sock.getsockname()[:2]
    print(f"serving MLGym environments at http://{host}:{port}/v1 (max {args.max_sessions} "
          f"sessions, idle timeout {args.idle_timeout:g} s)", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    sys.stdout.flush()
    return 0
