"""Fixtures shared by the whole test suite.

The test fixtures of ``tests/fixtures/`` come as one plugin, ``fixture_plugin.py``, registered
into the process-wide registry exactly as an installed plugin's entries would be:

``fixture-threshold`` (task)
    Label integers 1 when ``x >= threshold``. Metrics ``accuracy`` (primary, maximize) and
    ``errors`` (minimize); splits dev (20 rows) and test (40 rows). Baseline on test: accuracy
    0.925, errors 3 (on dev: 0.9, 2). The starter ``predict.py`` (``THRESHOLD = 50``) writes
    ``predictions.csv``; ``THRESHOLD = 37`` scores 1.0 on both splits. Hidden labels in
    ``hidden/labels.csv``; evaluator ``python3 evaluate.py``, visible in the workspace; limits:
    20 s per command, 120 s with ``long``, 30 steps, 1 GiB memory, 512 MiB disk, 256 processes.
``fixture-numbers`` (dataset)
    ``numbers.csv`` (columns id, split, x), shipped as files with a sha256.
``fixture-tools`` (tool bundle)
    ``count`` (a counter in ``$MLGYM_STATE_DIR``), ``shout <text>`` (asks the service), a
    ``state_command`` printing ``{"count": n, "cwd": ...}``, and ``FIXTURE_GREETING`` in env.
``fixture-upper`` (tool service)
    A Unix-socket server that upper-cases each line it receives.

Fixtures:

``mlgym_fixtures``
    Registers the plugin (idempotent) and the task with gymnasium, so
    ``gymnasium.make("mlgym/fixture-threshold")`` works; returns the plugin module, whose
    ``TASK_YAML``, ``DATASET_YAML`` and ``BUNDLE_YAML`` are the files' paths.
``fixture_task``
    The :class:`~mlgym.specs.TaskSpec` of ``fixture-threshold``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PLUGIN_NAME = "mlgym-test-fixtures"
FIXTURE_TASK = "fixture-threshold"


def _load_fixture_plugin():
    name = "mlgym_test_fixture_plugin"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FIXTURES / "fixture_plugin.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def mlgym_fixtures():
    """Register the fixture plugin with the process-wide registry and gymnasium."""
    from mlgym.episode import register_envs
    from mlgym.plugins import get_registry

    plugin = _load_fixture_plugin()
    registry = get_registry()
    if registry.pm.get_plugin(PLUGIN_NAME) is None:
        registry.register(plugin, name=PLUGIN_NAME, distribution="mlgym-test-fixtures")
    register_envs([FIXTURE_TASK])
    return plugin


@pytest.fixture
def fixture_task(mlgym_fixtures):
    """The TaskSpec of the fixture task ``fixture-threshold``."""
    from mlgym.plugins import get_registry

    return get_registry().task(FIXTURE_TASK)


@pytest.fixture(name="require_backend")
def require_backend_fixture():
    """:func:`mlgym.testing.require_backend`, as a fixture for test folders without a conftest."""
    from mlgym.testing import require_backend

    return require_backend
