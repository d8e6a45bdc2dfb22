"""Fixtures for environment tests: backends, environments that are always closed, task variants.

A backend that does not work here is skipped, unless ``MLGYM_REQUIRE_BACKENDS`` (comma-separated
names, set by CI) lists it: then its tests fail with the probe's reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from mlgym.specs import TaskSpec, load_task
from mlgym.testing import require_backend

ALL_BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("bwrap", id="bwrap", marks=pytest.mark.bwrap),
    pytest.param("docker", id="docker", marks=pytest.mark.docker),
]
ISOLATING_BACKENDS = ALL_BACKENDS[1:]
FIXTURE_TASK_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "tasks" / "threshold"


@pytest.fixture
def make_env(mlgym_fixtures):
    """``make_env(task, backend, **kwargs)`` -> an MLGymEnv, closed when the test ends."""
    from mlgym.episode import MLGymEnv

    made = []

    def make(task="fixture-threshold", backend="local", **kwargs) -> MLGymEnv:
        env = MLGymEnv(task, backend=require_backend(backend), **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


@pytest.fixture(params=ALL_BACKENDS)
def backend(request) -> str:
    """Each backend's name, skipped where it does not work."""
    return require_backend(request.param)


@pytest.fixture(params=ISOLATING_BACKENDS)
def isolating_backend(request) -> str:
    """bwrap and docker, skipped where they do not work."""
    return require_backend(request.param)


@pytest.fixture
def task_variant(tmp_path, mlgym_fixtures):
    """``task_variant(source=<evaluate.py source>, **task.yaml overrides)`` -> a TaskSpec: a copy
    of the fixture task with another evaluator and/or other task.yaml fields (a mapping is merged
    into the mapping it replaces; ``None`` removes a field)."""
    count = 0

    def make(source: str | None = None, **overrides) -> TaskSpec:
        nonlocal count
        count += 1
        root = tmp_path / f"task-{count}"
        shutil.copytree(FIXTURE_TASK_DIR, root)
        if source is not None:
            (root / "evaluator" / "evaluate.py").write_text(source)
        data = yaml.safe_load((root / "task.yaml").read_text())
        data["id"] = f"variant-{count}"
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            elif value is None:
                data.pop(key, None)
            else:
                data[key] = value
        (root / "task.yaml").write_text(yaml.safe_dump(data))
        return load_task(root / "task.yaml")

    return make
