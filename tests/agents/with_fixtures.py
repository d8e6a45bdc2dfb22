"""``python with_fixtures.py <mlgym arguments>``: the mlgym command line with the test fixtures
(task ``fixture-threshold``) registered, as if they were an installed plugin."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

import fixture_plugin  # noqa: E402

from mlgym.cli import main  # noqa: E402
from mlgym.plugins import get_registry  # noqa: E402

get_registry().register(fixture_plugin, name="mlgym-test-fixtures",
                        distribution="mlgym-test-fixtures")
sys.exit(main())
