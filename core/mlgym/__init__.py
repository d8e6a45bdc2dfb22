"""MLGym: a Gymnasium framework and benchmark for AI research agents.

The public surface is small; everything else is reached through plugins::

    import gymnasium, mlgym
    env = gymnasium.make("mlgym/prisoners-dilemma", backend="bwrap")
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("mlgym")
"""Marker for plugin hook implementations (see :mod:`mlgym.hookspecs`)."""

from mlgym.errors import (  # noqa: E402
    ConfigError,
    DuplicateIdError,
    MLGymError,
    SandboxError,
    SandboxTimeout,
    UnknownIdError,
)
from mlgym.plugins import get_registry  # noqa: E402

__all__ = [
    "ConfigError",
    "DuplicateIdError",
    "MLGymError",
    "SandboxError",
    "SandboxTimeout",
    "UnknownIdError",
    "__version__",
    "get_registry",
    "hookimpl",
]

# every installed task becomes `gymnasium.make("mlgym/<task-id>")`, registered lazily when
# gymnasium is imported so that `mlgym --help` stays fast
from mlgym.registration import register_when_gymnasium_loads  # noqa: E402

register_when_gymnasium_loads()
