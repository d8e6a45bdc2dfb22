"""The repository's test fixtures (task ``fixture-threshold``) registered like an installed plugin,
before every test: another package's tests may have rebuilt the registry
(``get_registry(refresh=True)``) in the meantime."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlgym.plugins import get_registry

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def fixture_task_registered() -> None:
    registry = get_registry()
    if "fixture-threshold" not in registry.ids("tasks"):
        if str(FIXTURES) not in sys.path:
            sys.path.insert(0, str(FIXTURES))
        import fixture_plugin

        if registry.pm.get_plugin("mlgym-test-fixtures") is None:
            registry.register(fixture_plugin, name="mlgym-test-fixtures",
                              distribution="mlgym-test-fixtures")
