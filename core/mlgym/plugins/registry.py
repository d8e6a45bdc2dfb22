"""The plugin manager: the only place that knows how plugins are discovered.

Plugins register under the setuptools entry-point group ``mlgym`` and implement the hooks of
:mod:`mlgym.plugins.hookspecs`. :func:`get_registry` loads every installed plugin once; a plugin
that fails to import is recorded in :attr:`Registry.failures` and the others still load. Tests and
notebooks register plugin objects explicitly with :meth:`Registry.register`.
"""

from __future__ import annotations

import importlib.metadata
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from mlgym.errors import ConfigError, DuplicateIdError, UnknownIdError
from mlgym.plugins import hookspecs

ENTRY_POINT_GROUP = "mlgym"
KINDS = ("tasks", "datasets", "agents", "tools", "services", "metrics", "backends", "embedders")
_HOOKS = {
    "tasks": "mlgym_tasks",
    "datasets": "mlgym_datasets",
    "agents": "mlgym_agents",
    "tools": "mlgym_tool_bundles",
    "services": "mlgym_tool_services",
    "metrics": "mlgym_metrics",
    "backends": "mlgym_sandbox_backends",
    "embedders": "mlgym_embedders",
}
_SINGULAR = {"tasks": "task", "datasets": "dataset", "agents": "agent", "tools": "tool bundle",
             "services": "tool service", "metrics": "metric", "backends": "sandbox backend",
             "embedders": "embedder"}


@dataclass
class Entry:
    """One thing a plugin provides, with where it came from."""

    kind: str
    id: str
    value: Any  # TaskSpec, DatasetSpec, AgentSpec, ToolBundle, MetricSpec, BackendSpec...
    plugin: str
    distribution: str


@dataclass
class Failure:
    """A plugin that could not be loaded, or whose hook or file was broken."""

    plugin: str
    distribution: str
    error: str
    detail: str = ""


@dataclass
class Registry:
    """Everything the installed plugins provide, indexed by kind and id."""

    pm: pluggy.PluginManager
    entries: dict[str, dict[str, Entry]] = field(default_factory=lambda: {k: {} for k in KINDS})
    failures: list[Failure] = field(default_factory=list)
    strict_duplicates: bool = True
    # plugins found half-imported (discovery ran inside their own import, which had imported
    # mlgym first): their hooks do not exist yet, so the registry is discovered again later
    unfinished: list[str] = field(default_factory=list)

    # -- lookup -------------------------------------------------------------------------------

    def ids(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def get(self, kind: str, name: str) -> Any:
        """The value registered as ``name``; an unknown name suggests the nearest ids."""
        try:
            return self.entries[kind][name].value
        except KeyError:
            raise UnknownIdError(_SINGULAR[kind], name, self.ids(kind)) from None

    def entry(self, kind: str, name: str) -> Entry:
        self.get(kind, name)
        return self.entries[kind][name]

    def task(self, task_id: str):
        return self.get("tasks", task_id)

    # -- registration -------------------------------------------------------------------------

    def register(self, plugin: Any, name: str | None = None, distribution: str = "<registered>") -> None:
        """Register a plugin object (module, class or instance) explicitly and collect its entries."""
        name = self.pm.register(plugin, name=name)
        self._collect(plugin, name, distribution)

    def unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        for kind in KINDS:
            for key in [k for k, e in self.entries[kind].items() if e.plugin == name]:
                del self.entries[kind][key]

    def _collect(self, plugin: Any, name: str, distribution: str) -> None:
        for kind, hook_name in _HOOKS.items():
            impl = getattr(plugin, hook_name, None)
            if impl is None:
                continue
            try:
                items = impl() or []
            except Exception as exc:  # a broken hook must not take the others down
                self.failures.append(Failure(name, distribution, f"{hook_name}() raised {exc!r}",
                                             traceback.format_exc()))
                continue
            for item in items:
                try:
                    value = _materialise(kind, item)
                except ConfigError as exc:
                    self.failures.append(Failure(name, distribution, f"invalid {_SINGULAR[kind]}: {exc}"))
                    continue
                except Exception as exc:
                    self.failures.append(Failure(name, distribution, f"invalid {_SINGULAR[kind]} {item!r}: {exc!r}",
                                                 traceback.format_exc()))
                    continue
                self._add(Entry(kind, _id_of(value), value, name, distribution))

    def _add(self, entry: Entry) -> None:
        existing = self.entries[entry.kind].get(entry.id)
        if existing is not None:
            message = (f"{_SINGULAR[entry.kind]} id {entry.id!r} is provided twice: by "
                       f"{existing.distribution} (plugin {existing.plugin}) and by "
                       f"{entry.distribution} (plugin {entry.plugin}); uninstall one of them")
            if self.strict_duplicates:
                raise DuplicateIdError(message)
            self.failures.append(Failure(entry.plugin, entry.distribution, message))
            return
        self.entries[entry.kind][entry.id] = entry


def _id_of(value: Any) -> str:
    return getattr(value, "id", None) or value.name


def _materialise(kind: str, item: Any) -> Any:
    """Turn what a hook returned into a spec object: YAML paths are loaded and validated."""
    if kind in ("tasks", "datasets", "tools") and isinstance(item, (str, Path)):
        if kind == "tasks":
            from mlgym.specs.tasks import load_task

            return load_task(item)
        if kind == "datasets":
            from mlgym.specs.tasks import load_dataset

            return load_dataset(item)
        from mlgym.specs.tools import load_bundle

        return load_bundle(item)
    return item


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    return pm


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def discover(strict_duplicates: bool = False) -> Registry:
    """Load every installed plugin; broken ones are recorded, not raised.

    With ``strict_duplicates`` two plugins providing the same id raise :class:`DuplicateIdError`;
    otherwise the second one is recorded as a failure naming both distributions.
    """
    registry = Registry(new_plugin_manager(), strict_duplicates=strict_duplicates)
    for ep in _entry_points():
        dist = ep.dist.name if ep.dist else "<unknown distribution>"
        if registry.pm.get_plugin(ep.name) is not None or registry.pm.is_blocked(ep.name):
            registry.failures.append(Failure(ep.name, dist, f"entry point name {ep.name!r} is used twice"))
            continue
        try:
            # pluggy's own loader, one entry point at a time, so one broken plugin is isolated
            registry.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=ep.name)
        except Exception as exc:
            registry.failures.append(Failure(ep.name, dist, f"import failed: {exc!r}", traceback.format_exc()))
            continue
        plugin = registry.pm.get_plugin(ep.name)
        if plugin is None:
            continue
        if getattr(getattr(plugin, "__spec__", None), "_initializing", False):
            registry.unfinished.append(ep.name)
            continue
        registry._collect(plugin, ep.name, dist)
    return registry


_REGISTRY: Registry | None = None


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, discovered on first use."""
    global _REGISTRY
    if _REGISTRY is None or refresh or _REGISTRY.unfinished:
        _REGISTRY = discover()
        if not _REGISTRY.unfinished:
            while _WHEN_COMPLETE:
                _WHEN_COMPLETE.pop(0)(_REGISTRY)
    return _REGISTRY


_WHEN_COMPLETE: list[Callable[[Registry], object]] = []


def when_complete(callback: Callable[[Registry], object]) -> None:
    """Call ``callback`` with the registry once a discovery finds every plugin fully imported
    (at once if the current one does): what ran while one was half-imported can finish then."""
    if _REGISTRY is not None and not _REGISTRY.unfinished:
        callback(_REGISTRY)
    else:
        _WHEN_COMPLETE.append(callback)
