"""The automl agent's fixture task, and the repository's ``fixture-threshold`` (a task without
knobs), registered like installed plugins before every test: another package's tests may have
rebuilt the registry in the meantime."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlgym.plugins import get_registry

HERE = Path(__file__).resolve().parent
REPOSITORY_FIXTURES = HERE.parents[3] / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def fixture_tasks_registered() -> None:
    registry = get_registry()
    for folder in (HERE / "fixtures", REPOSITORY_FIXTURES):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    if "fixture-quadratic" not in registry.ids("tasks"):
        import automl_fixtures

        registry.register(automl_fixtures, name="mlgym-automl-test-fixtures",
                          distribution="mlgym-automl-test-fixtures")
    if "fixture-threshold" not in registry.ids("tasks"):
        import fixture_plugin

        if registry.pm.get_plugin("mlgym-test-fixtures") is None:
            registry.register(fixture_plugin, name="mlgym-test-fixtures",
                              distribution="mlgym-test-fixtures")
