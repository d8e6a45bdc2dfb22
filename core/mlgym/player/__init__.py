"""Players: the agent's code, called by an evaluator, run apart from it.

A task whose evaluator must call code the agent wrote (a strategy, a heuristic, a policy, a
model) declares a ``player`` in ``task.yaml``. The evaluator then becomes a *referee*: it never
imports that code, but asks for a player, a process that MLGym starts in a sandbox of its own
(the player uid, the workspace read-only, no hidden data, no network, a fresh ``/tmp``), and
sends it calls over a stream that MLGym relays (:mod:`mlgym.player.link`). The two halves of the
protocol are standard-library files that tasks copy into their evaluator folder:
``lib/mlgym_referee.py`` and ``lib/mlgym_player.py``, with ``lib/mlgym_arrays.py`` that both use
for arrays (:func:`library_files`).

Layer: imports :mod:`mlgym.sandbox` (and below); the episode imports it. ``lib/`` imports nothing
of MLGym: its files run inside sandboxes, copied into a task's folder.
"""

from __future__ import annotations

from pathlib import Path

from mlgym.player.link import LINK_DIR, PlayerLink, PlayerLog, PlayerSetup

LIBRARY = Path(__file__).parent / "lib"


def library_files() -> dict[str, Path]:
    """The protocol's files (its two halves and the array codec they share), by file name, to
    copy into a task's evaluator folder."""
    return {path.name: path for path in sorted(LIBRARY.glob("mlgym_*.py"))}


__all__ = ["LIBRARY", "LINK_DIR", "PlayerLink", "PlayerLog", "PlayerSetup", "library_files"]
