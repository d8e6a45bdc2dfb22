"""Sandboxes: where the agent's shell runs and where evaluators run out of its reach.

The interface is :mod:`mlgym.sandbox.base`; the shell protocol is :mod:`mlgym.sandbox.shell`;
what dead processes left behind is swept by :mod:`mlgym.sandbox.leftovers`;
backends (``local``, ``bwrap``, ``docker``) register through :mod:`mlgym.sandbox.plugin` and are
imported only when used.

Layer: imports :mod:`mlgym.errors`, :mod:`mlgym.locations` and :mod:`mlgym.plugins` (the backends
are a plugin of the core); nothing of tasks, episodes or agents.
"""

from mlgym.sandbox.base import (
    CommandResult,
    Limits,
    Mount,
    PlayerProcess,
    Sandbox,
    SandboxConfig,
)

__all__ = ["CommandResult", "Limits", "Mount", "PlayerProcess", "Sandbox", "SandboxConfig"]
