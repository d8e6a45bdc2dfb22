"""MLGym: a Gymnasium framework and benchmark for AI research agents.

The public surface is small; everything else is reached through plugins::

    import gymnasium, mlgym
    env = gymnasium.make("mlgym/prisoners-dilemma", backend="bwrap")

The core is built in parts, each importing only parts listed before it here (a part's
``__init__`` says what it is and what it may import, and re-exports its public names):

- :mod:`mlgym.errors`, :mod:`mlgym.locations`: the exceptions, and where things are kept;
- :mod:`mlgym.specs`: every YAML file read and checked against its schema;
- :mod:`mlgym.plugins`: the hooks, the records plugins return, the registry of what is installed;
- :mod:`mlgym.sandbox`: where the agent's shell and the evaluators run;
- :mod:`mlgym.episode`: one task as a Gymnasium environment;
- :mod:`mlgym.agents` and :mod:`mlgym.scoring`: policies over the environment and the records of
  their episodes; result records turned into cross-task scores and reports;
- :mod:`mlgym.cli` (the ``mlgym`` command) and :mod:`mlgym.testing` (aids for tests).
"""

from __future__ import annotations

__version__ = "0.1.0"

from mlgym.errors import (  # noqa: E402
    ConfigError,
    DuplicateIdError,
    MLGymError,
    SandboxError,
    SandboxTimeout,
    UnknownIdError,
)
from mlgym.plugins import get_registry, hookimpl  # noqa: E402

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
from mlgym.episode.registration import register_when_gymnasium_loads  # noqa: E402

register_when_gymnasium_loads()
