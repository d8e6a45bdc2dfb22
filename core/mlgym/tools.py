"""Tool bundles: the commands of the agent-computer interface, as a YAML spec plus executables.

A bundle folder holds ``bundle.yaml`` (checked against ``schemas/tools.schema.json``) and a
``bin/`` folder of executables that are put on the sandbox ``PATH``. The executables need nothing
of the ``mlgym`` package inside the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from mlgym.config import load_config


@dataclass(frozen=True)
class ToolCommand:
    """One command of a bundle, as the agent's prompt documents it."""

    name: str
    signature: str
    docstring: str
    arguments: tuple[MappingProxyType, ...] = ()
    end_name: str | None = None


@dataclass(frozen=True)
class ToolBundle:
    """A loaded bundle: its commands, the folder of its executables, its environment."""

    id: str
    description: str
    root: Path
    commands: tuple[ToolCommand, ...]
    env: MappingProxyType
    state_command: str | None = None
    services: tuple[str, ...] = ()

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"


def load_bundle(path: str | Path) -> ToolBundle:
    """Read and validate a ``bundle.yaml``."""
    path = Path(path).resolve()
    data = load_config(path, "tools")
    return ToolBundle(
        id=data["id"],
        description=data.get("description", ""),
        root=path.parent,
        commands=tuple(
            ToolCommand(c["name"], c.get("signature", c["name"]), c["docstring"],
                        tuple(MappingProxyType(a) for a in c.get("arguments", [])), c.get("end_name"))
            for c in data["commands"]
        ),
        env=MappingProxyType(dict(data.get("env", {}))),
        state_command=data.get("state_command"),
        services=tuple(data.get("services", [])),
    )
