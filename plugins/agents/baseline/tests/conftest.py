"""The repository's test fixtures (task ``fixture-threshold``) registered like an installed plugin."""

from __future__ import annotations

import sys
from pathlib import Path

from mlgym.plugins import get_registry

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "fixtures"

if "fixture-threshold" not in get_registry().ids("tasks"):
    sys.path.insert(0, str(FIXTURES))
    import fixture_plugin

    get_registry().register(fixture_plugin, name="mlgym-test-fixtures",
                            distribution="mlgym-test-fixtures")
