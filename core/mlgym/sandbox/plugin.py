"""The core's own sandbox backends, registered through the same hook a third party uses.

Entry point ``core-backends = "mlgym.sandbox.plugin"`` (group ``mlgym``). Each backend module is
imported only when its factory or probe is called, so the docker SDK is loaded only for
``docker``.
"""

from __future__ import annotations

import sys
import warnings

from mlgym.plugins.hookspecs import hookimpl
from mlgym.plugins.records import BackendSpec
from mlgym.sandbox.base import Sandbox, SandboxConfig


def _local(config: SandboxConfig) -> Sandbox:
    from mlgym.sandbox.local import LocalSandbox

    return LocalSandbox(config)


def _bwrap(config: SandboxConfig) -> Sandbox:
    from mlgym.sandbox.bwrap import BwrapSandbox

    return BwrapSandbox(config)


def _docker(config: SandboxConfig) -> Sandbox:
    from mlgym.sandbox.docker import DockerSandbox

    return DockerSandbox(config)


def _bwrap_probe() -> str | None:
    if not sys.platform.startswith("linux"):
        return "bubblewrap needs Linux; use 'docker'"
    from mlgym.sandbox.bwrap import probe

    return probe()


def _docker_probe() -> str | None:
    from mlgym.sandbox.docker import probe

    return probe()


def _local_probe() -> str | None:
    return None


def _bwrap_description() -> str:
    from mlgym.sandbox import cgroups

    text = "bubblewrap namespaces, non-root uid, no network"
    try:
        reason = cgroups.unavailable_reason()
    except OSError as exc:
        reason = f"cgroups unreadable ({exc})"
    return f"{text}; limits: " + ("cgroup memory/pids/cpu + prlimit" if reason is None
                                  else f"prlimit only ({reason})")


@hookimpl
def mlgym_sandbox_backends() -> list[BackendSpec]:
    return [
        BackendSpec("local", _local, _local_probe, isolated=False,
                    description="no isolation: a bash on the host as you (development only)"),
        BackendSpec("bwrap", _bwrap, _bwrap_probe, description=_bwrap_description()),
        BackendSpec("docker", _docker, _docker_probe,
                    description="a container per episode via the docker SDK, locally built images"),
    ]


def default_backend() -> str:
    """``"bwrap"`` where it works, else ``"local"`` with a warning saying why."""
    reason = _bwrap_probe()
    if reason is None:
        return "bwrap"
    from mlgym.sandbox.local import UnisolatedSandboxWarning

    warnings.warn(f"the bwrap backend is unavailable ({reason}); falling back to 'local', "
                  "which does not isolate the agent", UnisolatedSandboxWarning, stacklevel=2)
    return "local"
