"""Fixtures for sandbox tests: the backends by name, and a started sandbox of each (through
the suite's ``make_sandbox``).

A backend that does not work here is skipped, unless ``MLGYM_REQUIRE_BACKENDS`` (comma-separated
names, set by CI) lists it: then its tests fail with the probe's reason.
"""

from __future__ import annotations

import pytest

from mlgym.plugins import get_registry
from mlgym.sandbox.base import Limits, Mount, Sandbox
from mlgym.testing import require_backend as require_working

ALL_BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("bwrap", id="bwrap", marks=pytest.mark.bwrap),
    pytest.param("docker", id="docker", marks=pytest.mark.docker),
]
ISOLATING_BACKENDS = ALL_BACKENDS[1:]


def require_backend(name: str):
    """The backend's spec; skip (or fail, if CI requires it) when it is unavailable here."""
    return get_registry().get("backends", require_working(name))


@pytest.fixture(params=ALL_BACKENDS)
def sandbox(request, make_sandbox) -> Sandbox:
    """A started sandbox of each backend."""
    return make_sandbox(request.param)


__all__ = ["ALL_BACKENDS", "ISOLATING_BACKENDS", "Limits", "Mount", "require_backend"]
