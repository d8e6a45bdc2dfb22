"""MLGym tool bundle ``files``: the file viewer, editor and search commands of the agent.

The commands are plain executables in ``bundle/bin`` that run with the sandbox's own ``python3``
and the standard library; this module only tells MLGym where the bundle is.
"""

from pathlib import Path

from mlgym import hookimpl

BUNDLE = Path(__file__).parent / "bundle" / "bundle.yaml"


@hookimpl
def mlgym_tool_bundles() -> list:
    """The ``files`` bundle."""
    return [BUNDLE]
