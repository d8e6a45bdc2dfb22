"""Shared pieces of the agent tests: the fixture task registered, and a local OpenAI-compatible
provider (``fake_provider``) started per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlgym.plugins import get_registry

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(FIXTURES))

from fake_provider import FakeProvider  # noqa: E402


def register_fixtures() -> None:
    registry = get_registry()
    if "fixture-threshold" not in registry.ids("tasks"):
        import fixture_plugin

        registry.register(fixture_plugin, name="mlgym-test-fixtures",
                          distribution="mlgym-test-fixtures")


register_fixtures()


@pytest.fixture
def provider():
    with FakeProvider() as server:
        yield server
