"""Evaluator of the iterated prisoner's dilemma.

Plays the agent's ``row_strategy(history)`` (``strategy.py`` in the workspace) for 10,000 games of
10 rounds against the column player of ``opponent.py`` and prints ``{"score": S}`` as the last
line of stdout: the row player's mean payoff per round (higher is better). A move is the integer
0 (cooperate) or 1 (defect); anything else fails the evaluation.

The strategy runs in a player apart from this process; how games are played, seeded and checked
is in ``iterated_game.py``, shared by MLGym's iterated games. Run by hand, ``python evaluate.py``
scores ./strategy.py on split dev, seed 0.
"""

import sys

from iterated_game import main, matrix_game
from opponent import column_move

ROW_PAYOFF = ((3, 0), (5, 1))  # [row move][column move]; 0 = cooperate, 1 = defect

GAME = matrix_game(ROW_PAYOFF, column_move, moves="0 (cooperate) or 1 (defect)")

if __name__ == "__main__":
    sys.exit(main(GAME))
