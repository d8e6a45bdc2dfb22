"""Hook specifications: the one contract between the MLGym core and its plugins.

A plugin is a module (or object) registered under the setuptools entry-point group ``mlgym``.
It implements any of the hooks below as plain functions marked with :data:`hookimpl` (also
importable as ``mlgym.hookimpl``)::

    from pathlib import Path
    from mlgym import hookimpl

    @hookimpl
    def mlgym_tasks():
        return [Path(__file__).parent / "task.yaml"]

Every hook returns a list; the plugin manager gathers the lists of all plugins, remembers which
distribution each entry came from, and refuses two entries with the same id.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("mlgym")
hookimpl = pluggy.HookimplMarker("mlgym")
"""Marker for plugin hook implementations."""


@hookspec
def mlgym_tasks() -> list:
    """Return the paths of the ``task.yaml`` files this plugin provides.

    Each file is checked against ``schemas/task.schema.json``. Paths named inside the file
    (starter code, evaluator, hidden data) are relative to the file's folder.
    """


@hookspec
def mlgym_datasets() -> list:
    """Return the paths of the ``dataset.yaml`` files this plugin provides.

    Each file is checked against ``schemas/dataset.schema.json``. A dataset is declared once and
    may be used by many tasks, which refer to it by id.
    """


@hookspec
def mlgym_agents() -> list:
    """Return :class:`mlgym.plugins.AgentSpec` objects: an agent id and a factory.

    The factory is called as ``factory(config: dict) -> Agent`` where ``config`` is the agent's
    YAML (checked against ``schemas/agent.schema.json``) merged with command-line overrides.
    """


@hookspec
def mlgym_tool_bundles() -> list:
    """Return the paths of ``bundle.yaml`` files (tool bundles for the agent-computer interface).

    Each file is checked against ``schemas/tools.schema.json``. The executables named by the bundle
    live in its ``bin/`` folder beside the file and are put on the sandbox ``PATH``.
    """


@hookspec
def mlgym_tool_services() -> list:
    """Return :class:`mlgym.plugins.ServiceSpec` objects: harness-side services for tool bundles.

    A service runs outside the sandbox for the length of an episode (a literature broker, an
    embedding server) and is reached by the tools through a Unix socket bound into the sandbox.
    """


@hookspec
def mlgym_metrics() -> list:
    """Return :class:`mlgym.plugins.MetricSpec` objects: a metric id and the function computing it.

    The function is called as ``compute(records, tasks, options) -> MetricResult``; see
    :mod:`mlgym.scoring.metrics` for the record and result types.
    """


@hookspec
def mlgym_sandbox_backends() -> list:
    """Return :class:`mlgym.plugins.BackendSpec` objects: a backend name, a factory and a probe.

    ``probe()`` returns ``None`` when the backend works on this machine, else a sentence saying
    why not and how to fix it; ``mlgym doctor`` prints it.
    """


@hookspec
def mlgym_embedders() -> list:
    """Return :class:`mlgym.plugins.EmbedderSpec` objects: text-embedding models for tools."""
