"""The plugin manager: discovery, explicit registration, duplicate ids, broken plugins."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from mlgym import hookimpl
from mlgym.errors import DuplicateIdError, UnknownIdError
from mlgym.plugins import AgentSpec, MetricSpec, Registry, discover, new_plugin_manager

TASK = """\
id: {id}
name: {id}
description: test task
evaluator: {{command: [python, evaluate.py]}}
metrics: [{{name: score, direction: maximize}}]
"""


def _task_plugin(tmp_path: Path, task_id: str) -> types.SimpleNamespace:
    folder = tmp_path / task_id
    folder.mkdir()
    (folder / "task.yaml").write_text(TASK.format(id=task_id))

    class Plugin:
        @hookimpl
        def mlgym_tasks(self):
            return [folder / "task.yaml"]

    return Plugin()


def test_explicit_registration_collects_every_kind(tmp_path):
    registry = Registry(new_plugin_manager())

    class Plugin:
        @hookimpl
        def mlgym_agents(self):
            return [AgentSpec("noop", lambda config: None, "does nothing")]

        @hookimpl
        def mlgym_metrics(self):
            return [MetricSpec("count", lambda records, tasks, options: len(records))]

    registry.register(Plugin(), name="mine", distribution="my-dist")
    registry.register(_task_plugin(tmp_path, "alpha"), name="tasks", distribution="task-dist")
    assert registry.ids("agents") == ["noop"]
    assert registry.entry("metrics", "count").distribution == "my-dist"
    assert registry.task("alpha").primary_metric.name == "score"
    registry.unregister("tasks")
    assert registry.ids("tasks") == []


def test_duplicate_id_names_both_distributions(tmp_path):
    registry = Registry(new_plugin_manager())
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    registry.register(_task_plugin(tmp_path / "a", "same"), name="first", distribution="dist-one")
    with pytest.raises(DuplicateIdError) as info:
        registry.register(_task_plugin(tmp_path / "b", "same"), name="second", distribution="dist-two")
    assert "dist-one" in str(info.value) and "dist-two" in str(info.value) and "'same'" in str(info.value)


def test_duplicate_id_lenient_records_failure(tmp_path):
    registry = Registry(new_plugin_manager(), strict_duplicates=False)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    registry.register(_task_plugin(tmp_path / "a", "same"), name="first", distribution="dist-one")
    registry.register(_task_plugin(tmp_path / "b", "same"), name="second", distribution="dist-two")
    assert registry.ids("tasks") == ["same"]
    assert any("dist-one" in f.error and "dist-two" in f.error for f in registry.failures)


def test_broken_hook_and_invalid_yaml_do_not_take_others_down(tmp_path):
    registry = Registry(new_plugin_manager())

    class Raises:
        @hookimpl
        def mlgym_tasks(self):
            raise RuntimeError("boom")

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "task.yaml").write_text("id: bad\nname: x\n")

    class Invalid:
        @hookimpl
        def mlgym_tasks(self):
            return [bad / "task.yaml"]

    registry.register(Raises(), name="raises", distribution="dist-raises")
    registry.register(Invalid(), name="invalid", distribution="dist-invalid")
    registry.register(_task_plugin(tmp_path, "good"), name="good", distribution="dist-good")
    assert registry.ids("tasks") == ["good"]
    errors = {f.distribution: f.error for f in registry.failures}
    assert "boom" in errors["dist-raises"]
    assert "missing required key 'description'" in errors["dist-invalid"]


def test_unknown_id_suggests_nearest(tmp_path):
    registry = Registry(new_plugin_manager())
    registry.register(_task_plugin(tmp_path, "prisoners-dilemma"), name="pd")
    with pytest.raises(UnknownIdError) as info:
        registry.task("prisoner-dilemma")
    assert "Did you mean 'prisoners-dilemma'" in str(info.value)


def test_discover_loads_installed_entry_points():
    registry = discover()
    # the core registers its own sandbox backends through the same entry point group
    assert "local" in registry.ids("backends")
    assert registry.entry("backends", "local").distribution == "mlgym-core"
