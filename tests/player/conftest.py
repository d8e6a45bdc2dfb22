"""Fixtures for player tests: started sandboxes of a backend, always closed.

A backend that does not work here is skipped, unless ``MLGYM_REQUIRE_BACKENDS`` (comma-separated
names, set by CI) lists it: then its tests fail with the probe's reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgym.plugins import get_registry
from mlgym.sandbox.base import Sandbox, SandboxConfig
from mlgym.testing import require_backend


def pytest_collection_modifyitems(items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:  # the local backend's warning is expected here
            item.add_marker(pytest.mark.filterwarnings(
                "ignore::mlgym.sandbox.local.UnisolatedSandboxWarning"))


@pytest.fixture
def make_sandbox(tmp_path: Path):
    """``make_sandbox(backend, workspace)`` -> a started sandbox, closed at the end."""
    opened: list[Sandbox] = []

    def make(backend: str, workspace: Path) -> Sandbox:
        spec = get_registry().get("backends", require_backend(backend))
        sandbox = spec.factory(SandboxConfig(workspace=workspace))
        sandbox.start()
        opened.append(sandbox)
        return sandbox

    yield make
    for sandbox in opened:
        sandbox.close()
