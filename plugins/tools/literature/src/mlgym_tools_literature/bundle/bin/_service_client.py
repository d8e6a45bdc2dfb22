"""Talk to a harness-side tool service over its Unix socket (JSON over HTTP), stdlib only."""

from __future__ import annotations

import http.client
import json
import os
import socket


class ServiceError(Exception):
    """The service refused the request or could not be reached; the message is for the agent."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def call(service: str, operation: str, request: dict, timeout: float = 300.0) -> dict:
    """POST ``request`` to ``/operation`` of the service whose socket is in MLGYM_SERVICE_<ID>."""
    var = "MLGYM_SERVICE_" + service.upper().replace("-", "_").replace(".", "_")
    path = os.environ.get(var)
    if not path:
        raise ServiceError(f"The {service} service is not running in this episode ({var} is not "
                           f"set); it starts when the `{service}` tool bundle is enabled.")
    connection = _UnixConnection(path, timeout)
    try:
        connection.request("POST", "/" + operation, body=json.dumps(request),
                           headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        data = json.loads(answer.read() or b"{}")
    except socket.timeout:
        raise ServiceError(f"The {service} service did not answer within {timeout:g} s.") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise ServiceError(f"Could not reach the {service} service at {path}: {exc}") from None
    finally:
        connection.close()
    if answer.status != 200 or "error" in data:
        raise ServiceError("Error: " + str(data.get("error", f"HTTP {answer.status}")))
    return data
