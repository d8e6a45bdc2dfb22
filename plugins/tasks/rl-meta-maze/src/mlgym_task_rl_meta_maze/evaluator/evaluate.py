"""Evaluator of the rl-meta-maze task: the referee of ``rl_referee.py`` on gymnax ``MetaMaze-misc``.

The agent's policies run in a player (``rl_player.py``), never here; see ``rl_referee.py`` for
the protocol, the checks and the metric.
"""

import sys

import rl_referee

if __name__ == "__main__":
    sys.exit(rl_referee.main("MetaMaze-misc"))
