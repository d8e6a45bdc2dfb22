"""A real sandbox with tool bundles installed the way docs/CONTRACTS.md says the environment does:
each bundle's ``bin/`` read-only at ``/mlgym/tools/<id>/bin`` on PATH, its ``env`` exported, its
services started outside the sandbox with their sockets bound at ``/mlgym/run/<id>.sock``, and a
writable ``$MLGYM_STATE_DIR``.

The backend is ``bwrap`` (no network) unless ``MLGYM_TEST_BACKEND`` names another one; it is
skipped where it does not work unless ``MLGYM_REQUIRE_BACKENDS`` lists it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlgym.plugins import get_registry
from mlgym.sandbox.base import CommandResult, Mount, SandboxConfig
from mlgym.specs import (
    ToolBundle,
    expand_multiline,
    sandbox_bin,
    service_env_var,
    service_socket,
)
from mlgym.testing import require_backend as require_working

STATE_DIR = "/mlgym/state"
WORKSPACE = "/home/agent/workspace"


@dataclass
class ToolSandbox:
    """A started sandbox with bundles; ``run`` takes an action as the agent writes it."""

    sandbox: object
    bundles: list[ToolBundle]
    workspace: Path  # on the host
    services: dict = field(default_factory=dict)

    def put(self, relative: str, content: str | bytes) -> Path:
        """Write a workspace file owned by the agent, like starter code copied in before start."""
        path = self.workspace / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        owner = self.workspace.stat()
        for made in [path, *path.relative_to(self.workspace).parents]:
            os.chown(self.workspace / made, owner.st_uid, owner.st_gid)
        return path

    def run(self, action: str, timeout: float = 120) -> CommandResult:
        return self.sandbox.run(expand_multiline(action, self.bundles), timeout)

    def out(self, action: str, timeout: float = 120) -> str:
        return self.run(action, timeout).output

    def state(self) -> dict:
        """The merged JSON of every bundle's state command, as the environment reports it."""
        merged = {}
        for bundle in self.bundles:
            if bundle.state_command:
                result = self.sandbox.run(bundle.state_command, 30)
                merged.update(json.loads(result.output.strip().splitlines()[-1]))
        return merged


def require_backend(name: str | None = None):
    """The backend spec (default ``$MLGYM_TEST_BACKEND`` or bwrap); skipped where it does not
    work, unless ``MLGYM_REQUIRE_BACKENDS`` (set by CI) lists it: then the test fails."""
    name = require_working(name or os.environ.get("MLGYM_TEST_BACKEND", "bwrap"))
    return get_registry().get("backends", name)


@pytest.fixture
def bwrap_backend():
    """The bwrap backend spec, where it works (see :func:`require_backend`)."""
    return require_backend("bwrap")


@pytest.fixture
def tool_sandbox(tmp_path):
    """``make(bundle_ids, service_config={id: config})`` -> a started :class:`ToolSandbox`."""
    started: list = []

    def make(bundle_ids, service_config=None) -> ToolSandbox:
        registry = get_registry()
        backend = require_backend()
        bundles = [registry.get("tools", b) for b in bundle_ids]
        run_dir = tmp_path / "run"
        state = tmp_path / "state"
        workspace = tmp_path / "workspace"
        for folder in (run_dir, state, workspace):
            folder.mkdir(exist_ok=True)
        mounts = [Mount(state, STATE_DIR, writable=True)]
        env = {"MLGYM_STATE_DIR": STATE_DIR}
        services = {}
        for bundle in bundles:
            mounts.append(Mount(bundle.bin_dir, sandbox_bin(bundle.id)))
            env.update(bundle.env)
            for service_id in bundle.services:
                socket = run_dir / f"{service_id}.sock"
                spec = registry.get("services", service_id)
                services[service_id] = spec.start(socket, (service_config or {}).get(service_id))
                started.append(services[service_id])
                mounts.append(Mount(socket, service_socket(service_id)))
                env[service_env_var(service_id)] = service_socket(service_id)
        config = SandboxConfig(workspace=workspace, workspace_target=WORKSPACE, mounts=mounts,
                               env=env, path_prepend=[sandbox_bin(b.id) for b in bundles])
        sandbox = backend.factory(config)
        sandbox.start()
        started.append(sandbox)
        return ToolSandbox(sandbox, bundles, workspace, services)

    yield make
    for thing in reversed(started):
        thing.close()
