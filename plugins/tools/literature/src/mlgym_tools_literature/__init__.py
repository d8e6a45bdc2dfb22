"""MLGym tool bundle ``literature``: paper search and PDF reading for a sandbox without network.

``literature_search`` and ``parse_pdf`` (in ``bundle/bin``) run inside the sandbox and ask the
literature broker (:mod:`mlgym_tools_literature.broker`), a service the environment starts outside
the sandbox for each episode.
"""

from pathlib import Path

from mlgym import hookimpl
from mlgym.plugins import ServiceSpec

BUNDLE = Path(__file__).parent / "bundle" / "bundle.yaml"


def _start(socket_path, config=None):
    from mlgym_tools_literature.broker import start

    return start(socket_path, config)


@hookimpl
def mlgym_tool_bundles() -> list:
    """The ``literature`` bundle."""
    return [BUNDLE]


@hookimpl
def mlgym_tool_services() -> list:
    """The literature broker."""
    return [ServiceSpec("literature", _start, "fetches papers from an allowlist of hosts for "
                        "literature_search and parse_pdf")]
