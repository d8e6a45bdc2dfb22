"""The records plugins hand to the core through the hooks (:mod:`mlgym.plugins.hookspecs`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AgentSpec:
    """An agent plugin: ``factory(config) -> Agent``; ``config_path`` is its default YAML.

    ``reference`` marks an agent whose runs are a reference for the others rather than a method
    under study: ``"search"`` for a budget-matched hyperparameter search, which reports show
    beside every other method with the gain over it.
    """

    id: str
    factory: Callable[[dict], Any]
    description: str = ""
    config_path: str | None = None
    reference: str = ""


@dataclass(frozen=True)
class MetricSpec:
    """A cross-task metric: ``compute(records, tasks, options) -> MetricResult``."""

    id: str
    compute: Callable[..., Any]
    description: str = ""


@dataclass(frozen=True)
class BackendSpec:
    """A sandbox backend: ``factory(config: SandboxConfig) -> Sandbox``; ``probe() -> None | reason``."""

    name: str
    factory: Callable[..., Any]
    probe: Callable[[], str | None] = field(default=lambda: None)
    description: str = ""
    isolated: bool = True


@dataclass(frozen=True)
class ServiceSpec:
    """A harness-side service for tools: ``start(socket_path, config) -> object with close()``."""

    id: str
    start: Callable[..., Any]
    description: str = ""


@dataclass(frozen=True)
class EmbedderSpec:
    """A text embedder: ``factory(config) -> object with embed(list[str]) -> list[list[float]]``."""

    id: str
    factory: Callable[[dict], Any]
    description: str = ""
