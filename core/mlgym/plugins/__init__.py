"""Plugins: the one contract between the core and everything it does not know by name.

- :mod:`~mlgym.plugins.hookspecs`: the hooks a plugin implements (marked with :data:`hookimpl`);
- :mod:`~mlgym.plugins.records`: the plain records some hooks return (:class:`AgentSpec`,
  :class:`MetricSpec`, :class:`BackendSpec`, :class:`ServiceSpec`, :class:`EmbedderSpec`);
- :mod:`~mlgym.plugins.registry`: discovery through the entry-point group ``mlgym`` and the
  :class:`Registry` of everything installed (:func:`get_registry`).

Layer: imports :mod:`mlgym.errors` and :mod:`mlgym.specs` (the registry reads the YAML files that
hooks name); nothing else of the core.
"""

from mlgym.plugins.hookspecs import hookimpl, hookspec
from mlgym.plugins.records import AgentSpec, BackendSpec, EmbedderSpec, MetricSpec, ServiceSpec
from mlgym.plugins.registry import (
    ENTRY_POINT_GROUP,
    KINDS,
    Entry,
    Failure,
    Registry,
    discover,
    get_registry,
    new_plugin_manager,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "AgentSpec",
    "BackendSpec",
    "EmbedderSpec",
    "Entry",
    "Failure",
    "MetricSpec",
    "Registry",
    "ServiceSpec",
    "discover",
    "get_registry",
    "hookimpl",
    "hookspec",
    "new_plugin_manager",
]
