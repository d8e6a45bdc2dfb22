"""Tool bundles: the commands of the agent-computer interface, as a YAML spec plus executables.

A bundle folder holds ``bundle.yaml`` (checked against ``schemas/tools.schema.json``) and a
``bin/`` folder of executables that are put on the sandbox ``PATH``. The executables need nothing
of the ``mlgym`` package inside the sandbox. How a bundle reaches the sandbox (docs/CONTRACTS.md):

- ``bin/`` is mounted read-only at :func:`sandbox_bin` (``/mlgym/tools/<id>/bin``) and put on PATH;
- ``env`` is exported in the agent's shell;
- each service named in ``services`` is started outside the sandbox with
  ``spec.start(socket_path, config)``; its socket is bound at :func:`service_socket` and its path
  exported as :func:`service_env_var`;
- ``state_command`` runs after each step and prints one JSON object.

Commands with an ``end_name`` (``edit`` ... ``end_of_edit``) take multi-line text on stdin: the
environment passes the agent's action through :func:`expand_multiline`, which turns the block into
a bash here-document. :func:`format_call` builds the same command line from a native tool call.
The harness side of a service can use :class:`JSONSocketServer` (JSON over HTTP on a Unix socket).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from mlgym.errors import ConfigError
from mlgym.specs.config import load_config

SANDBOX_TOOLS_ROOT = "/mlgym/tools"
SANDBOX_RUN_DIR = "/mlgym/run"


@dataclass(frozen=True)
class ToolCommand:
    """One command of a bundle, as the agent's prompt documents it.

    ``arguments`` are read-only mappings with ``name``, ``type``, ``description`` and optionally
    ``required``, ``multiline`` (the text after the command line) and ``default``.
    """

    name: str
    signature: str
    docstring: str
    arguments: tuple[MappingProxyType, ...] = ()
    end_name: str | None = None
    builtin: bool = False  # handled by the environment (validate, submit); no executable

    @property
    def body_argument(self) -> Mapping | None:
        """The argument given as multi-line text after the command line, if any."""
        return next((a for a in self.arguments if a.get("multiline")), None)

    @property
    def usage(self) -> str:
        """The signature, followed by the multi-line text and its end line for ``end_name``."""
        if not self.end_name:
            return self.signature
        body = self.body_argument
        return f"{self.signature}\n<{body['name'] if body else 'text'}>\n{self.end_name}"


@dataclass(frozen=True)
class ToolBundle:
    """A loaded bundle: its commands, the folder of its executables, its environment."""

    id: str
    description: str
    root: Path
    commands: tuple[ToolCommand, ...]
    env: MappingProxyType
    state_command: str | None = None
    services: tuple[str, ...] = ()

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def sandbox_bin(self) -> str:
        """Where ``bin/`` is mounted inside the sandbox."""
        return sandbox_bin(self.id)

    def command(self, name: str) -> ToolCommand:
        for command in self.commands:
            if command.name == name:
                return command
        from mlgym.errors import UnknownIdError

        raise UnknownIdError(f"command of tool bundle {self.id!r}", name,
                             [c.name for c in self.commands])


def sandbox_bin(bundle_id: str) -> str:
    """The sandbox path of bundle ``bundle_id``'s ``bin/`` folder."""
    return f"{SANDBOX_TOOLS_ROOT}/{bundle_id}/bin"


def service_socket(service_id: str) -> str:
    """The sandbox path of service ``service_id``'s Unix socket."""
    return f"{SANDBOX_RUN_DIR}/{service_id}.sock"


def service_env_var(service_id: str) -> str:
    """The variable holding the socket path of a service: ``MLGYM_SERVICE_<ID>``."""
    return "MLGYM_SERVICE_" + re.sub(r"[^A-Z0-9_]", "_", service_id.upper())


def load_bundle(path: str | Path) -> ToolBundle:
    """Read and validate a ``bundle.yaml``; every command needs an executable ``bin/<name>``."""
    path = Path(path).resolve()
    data = load_config(path, "tools")
    commands = tuple(
        ToolCommand(c["name"], c.get("signature", c["name"]), c["docstring"].strip(),
                    tuple(MappingProxyType(dict(a)) for a in c.get("arguments", [])),
                    c.get("end_name"), bool(c.get("builtin", False)))
        for c in data["commands"]
    )
    bundle = ToolBundle(
        id=data["id"],
        description=data.get("description", "").strip(),
        root=path.parent,
        commands=commands,
        env=MappingProxyType(dict(data.get("env", {}))),
        state_command=data.get("state_command"),
        services=tuple(data.get("services", [])),
    )
    problems = _consistency_problems(bundle)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return bundle


def _consistency_problems(bundle: ToolBundle) -> list[str]:
    """What the schema cannot check: executables exist, names unique, bodies declared."""
    problems = []
    names = [c.name for c in bundle.commands]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"command {name!r} is declared twice")
    executables = [c.name for c in bundle.commands if not c.builtin]
    if bundle.state_command:
        first = shlex.split(bundle.state_command)[0]
        if "/" not in first and (bundle.bin_dir / first).exists():
            executables.append(first)
    for name in executables:
        exe = bundle.bin_dir / name
        if not exe.is_file():
            problems.append(f"command {name!r} has no executable {exe} (add it, or mark the "
                            "command `builtin: true` if the environment handles it)")
        elif not os.access(exe, os.X_OK):
            problems.append(f"{exe} is not executable (run `chmod +x {exe}`)")
    for c in bundle.commands:
        bodies = [a["name"] for a in c.arguments if a.get("multiline")]
        if c.end_name and len(bodies) != 1:
            problems.append(f"command {c.name!r} has end_name {c.end_name!r} and needs exactly one "
                            f"argument with `multiline: true` (has {len(bodies)})")
        if bodies and not c.end_name:
            problems.append(f"command {c.name!r} has a multiline argument but no end_name")
    return problems


# --- multi-line commands ------------------------------------------------------------------------

HEREDOC_END = "__MLGYM_EOF__"  # delimits the here-document; the tool's end line comes before it
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def expand_multiline(action: str, bundles: Iterable[ToolBundle]) -> str:
    """Rewrite multi-line tool blocks of an action into bash here-documents.

    ``edit 3:5\\n<lines>\\nend_of_edit`` becomes
    ``edit 3:5 <<'__MLGYM_EOF__'\\n<lines>\\nend_of_edit\\n__MLGYM_EOF__``: bash passes the
    lines verbatim on the command's stdin, followed by the end line, which tells the tool where
    the text ends even when it is empty (bash gives an empty here-document as ``/dev/null``).
    A missing end line is added after the text; a command with neither text nor end line is left
    alone (the tool then says what is missing).
    Lines inside other here-documents and blocks already written as here-documents are kept.
    """
    end_names = {c.name: c.end_name for b in bundles for c in b.commands if c.end_name}
    if not end_names:
        return action
    lines = action.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        heredoc = _HEREDOC.search(line)
        if heredoc:  # copy a here-document the agent wrote itself, untouched
            end = next((k for k in range(i + 1, len(lines))
                        if lines[k].strip() == heredoc.group(2)), len(lines) - 1)
            out.extend(lines[i:end + 1])
            i = end + 1
            continue
        words = line.split(maxsplit=1)
        end_name = end_names.get(words[0]) if words else None
        if end_name is None:
            out.append(line)
            i += 1
            continue
        end = next((k for k in range(i + 1, len(lines)) if lines[k].strip() == end_name), None)
        body = lines[i + 1:end if end is not None else len(lines)]
        if end is None and not any(line.strip() for line in body):
            out.extend(lines[i:])  # no text and no end line: let the tool say what is missing
            break
        out.append(f"{line.rstrip()} <<'{HEREDOC_END}'")
        out.extend(body)
        out += [end_name, HEREDOC_END]
        i = end + 1 if end is not None else len(lines)
    return "\n".join(out)


class ToolCallError(ValueError):
    """A native tool call whose arguments do not fit the command; the message is for the agent."""


_PLACEHOLDER = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


def format_call(command: ToolCommand, arguments: Mapping) -> str:
    """The command line for a native tool call: the signature with its placeholders filled in.

    Values are shell-quoted; an optional part (``[<dir>]``) is dropped when its arguments are
    missing; the multi-line argument becomes a here-document as in :func:`expand_multiline`.
    """
    known = {a["name"] for a in command.arguments}
    unknown = sorted(set(arguments) - known)
    if unknown:
        raise ToolCallError(f"{command.name} has no argument {', '.join(map(repr, unknown))}; "
                            f"its arguments are: {', '.join(sorted(known)) or 'none'}")
    values = {k: v for k, v in arguments.items() if v is not None and v != ""}

    def fill(match: re.Match) -> str:
        return shlex.quote(str(values[match.group(1)]))

    def optional(match: re.Match) -> str:
        inner = match.group(1)
        needed = _PLACEHOLDER.findall(inner)
        return _PLACEHOLDER.sub(fill, inner) if all(n in values for n in needed) else ""

    line = _OPTIONAL.sub(optional, command.signature)
    missing = [n for n in _PLACEHOLDER.findall(line) if n not in values]
    if missing:
        raise ToolCallError(f"{command.name} needs the argument {', '.join(map(repr, missing))}; "
                            f"usage: {command.usage}")
    line = " ".join(_PLACEHOLDER.sub(fill, line).split())
    body = command.body_argument
    if body is None:
        return line
    text = str(arguments.get(body["name"]) or "")
    if text.endswith("\n"):
        text = text[:-1]
    lines = [f"{line} <<'{HEREDOC_END}'", *([text] if text else []), command.end_name,
             HEREDOC_END]
    return "\n".join(lines)


# --- harness side of tool services -------------------------------------------------------------


class ServiceRequestError(Exception):
    """A request a service refuses (bad input, a host not allowed); the message is for the agent."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class JSONSocketServer:
    """Serves ``POST /<operation>`` with a JSON object body over HTTP on a Unix socket.

    ``handle(operation, request) -> dict`` answers each request (in its own thread); raising
    :class:`ServiceRequestError` answers ``{"error": message}`` with its status. The socket is made
    connectable by every uid, since the agent in the sandbox runs under its own. Tools in the
    sandbox talk to it with the standard library (``http.client`` over ``AF_UNIX``) or
    ``curl --unix-socket``.
    """

    def __init__(self, socket_path: str | Path, handle, name: str = "tool service"):
        import socketserver
        import threading

        self.socket_path, self.name = Path(socket_path), name
        if len(os.fsencode(self.socket_path)) > 107:
            raise ConfigError(f"socket path {self.socket_path} is longer than 107 bytes, the limit "
                              "of Unix sockets; use a shorter run folder")
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists() or self.socket_path.is_symlink():
            self.socket_path.unlink()

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True

        self._server = Server(str(self.socket_path), _handler_class(handle, name))
        os.chmod(self.socket_path, 0o666)
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and remove the socket. Safe to call twice."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
        if self.socket_path.exists():
            self.socket_path.unlink()

    def __enter__(self) -> JSONSocketServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


MAX_REQUEST_BYTES = 256 * 1024 * 1024


def _handler_class(handle, name: str):
    import http.server
    import json
    import logging
    import traceback

    log = logging.getLogger(f"mlgym.specs.tools.{name}")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        server_version = f"mlgym-{name}"

        def address_string(self) -> str:  # Unix sockets have no peer address
            return "sandbox"

        def log_message(self, format: str, *args) -> None:
            log.debug(format, *args)

        def do_POST(self) -> None:
            operation = self.path.strip("/").split("?")[0]
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_REQUEST_BYTES:
                    raise ServiceRequestError(f"request too large ({length} bytes)", 413)
                request = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(request, dict):
                    raise ServiceRequestError("the request body must be a JSON object")
                status, answer = 200, handle(operation, request)
            except ServiceRequestError as exc:
                status, answer = exc.status, {"error": str(exc)}
            except json.JSONDecodeError as exc:
                status, answer = 400, {"error": f"the request body is not JSON: {exc}"}
            except Exception as exc:  # a bug must not kill the service for the whole episode
                log.error("%s failed on %s: %s", name, operation, traceback.format_exc())
                status, answer = 500, {"error": f"{name} failed: {exc!r}"}
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


__all__ = [
    "HEREDOC_END", "SANDBOX_RUN_DIR", "SANDBOX_TOOLS_ROOT", "JSONSocketServer",
    "ServiceRequestError",
    "ToolBundle", "ToolCallError", "ToolCommand", "expand_multiline", "format_call",
    "load_bundle", "sandbox_bin", "service_env_var", "service_socket",
]
