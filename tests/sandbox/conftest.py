"""Fixtures for sandbox tests: backends by name, started and always closed.

A backend that does not work here is skipped, unless ``MLGYM_REQUIRE_BACKENDS`` (comma-separated
names, set by CI) lists it: then its tests fail with the probe's reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgym.plugins import get_registry
from mlgym.sandbox.base import Limits, Mount, Sandbox, SandboxConfig
from mlgym.testing import require_backend as require_working

ALL_BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("bwrap", id="bwrap", marks=pytest.mark.bwrap),
    pytest.param("docker", id="docker", marks=pytest.mark.docker),
]
ISOLATING_BACKENDS = ALL_BACKENDS[1:]


def pytest_collection_modifyitems(items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:  # the local backend's warning is expected here
            item.add_marker(pytest.mark.filterwarnings(
                "ignore::mlgym.sandbox.local.UnisolatedSandboxWarning"))


def require_backend(name: str):
    """The backend's spec; skip (or fail, if CI requires it) when it is unavailable here."""
    return get_registry().get("backends", require_working(name))


@pytest.fixture
def make_sandbox(tmp_path: Path):
    """``make_sandbox(backend, **SandboxConfig fields)`` -> a started sandbox, closed at the end.
    The workspace defaults to a fresh folder holding ``hello.txt``."""
    opened: list[Sandbox] = []

    def make(backend: str, **fields) -> Sandbox:
        spec = require_backend(backend)
        if "workspace" not in fields:
            fields["workspace"] = tmp_path / f"workspace-{len(opened)}"
            fields["workspace"].mkdir()
            (fields["workspace"] / "hello.txt").write_text("hello\n")
        sandbox = spec.factory(SandboxConfig(**fields))
        sandbox.start()
        opened.append(sandbox)
        return sandbox

    yield make
    for sandbox in opened:
        sandbox.close()


@pytest.fixture(params=ALL_BACKENDS)
def sandbox(request, make_sandbox) -> Sandbox:
    """A started sandbox of each backend."""
    return make_sandbox(request.param)


__all__ = ["ALL_BACKENDS", "ISOLATING_BACKENDS", "Limits", "Mount", "require_backend"]
