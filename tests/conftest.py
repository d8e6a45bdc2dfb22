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
``make_sandbox``
    ``make_sandbox(backend, **SandboxConfig fields)`` -> a started sandbox, closed when the test
    ends; the workspace defaults to a fresh folder holding ``hello.txt``. A backend that does not
    work here is skipped, unless ``MLGYM_REQUIRE_BACKENDS`` (set by CI) lists it: then it fails.

The local backend's :class:`~mlgym.sandbox.local.UnisolatedSandboxWarning` is expected, and
silenced, in the folders of :data:`UNISOLATED_EXPECTED`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PLUGIN_NAME = "mlgym-test-fixtures"
FIXTURE_TASK = "fixture-threshold"
UNISOLATED_EXPECTED = ("env", "sandbox", "player")  # test folders that run the local backend


def pytest_collection_modifyitems(items) -> None:
    quiet = [Path(__file__).parent / name for name in UNISOLATED_EXPECTED]
    for item in items:
        if any(folder in Path(item.path).parents for folder in quiet):
            item.add_marker(pytest.mark.filterwarnings(
                "ignore::mlgym.sandbox.local.UnisolatedSandboxWarning"))


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


@pytest.fixture
def make_sandbox(tmp_path: Path):
    """``make_sandbox(backend, **SandboxConfig fields)`` -> a started sandbox, closed at the end.
    The workspace defaults to a fresh folder holding ``hello.txt``."""
    from mlgym.plugins import get_registry
    from mlgym.sandbox.base import Sandbox, SandboxConfig
    from mlgym.testing import require_backend

    opened: list[Sandbox] = []

    def make(backend: str, **fields) -> Sandbox:
        spec = get_registry().get("backends", require_backend(backend))
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
