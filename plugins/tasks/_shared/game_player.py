"""The player of MLGym's iterated games: the agent's ``row_strategy``, answering the referee.

Started by MLGym in a sandbox of its own (see ``iterated_game.py``, the referee's side). It
imports ``strategy.py`` from the workspace when asked (``import_strategy``) and answers
``row_strategy`` calls whose elements are ``[game, last round]``: the last round (``null`` when
the game starts) is added to that game's history, and the strategy gets a copy of the history as
a list of ``(own move, opponent's move)`` tuples, an allocation being a tuple too. Moves go back
as plain JSON: numpy scalars and arrays become ints and lists here; the referee checks every one.

This file needs only the standard library. Its one source is ``plugins/tasks/_shared/``.
"""

import numbers

import mlgym_player

strategy = None
histories = {}


def import_strategy():
    global strategy
    strategy = mlgym_player.workspace_function("strategy.py", "row_strategy")


def plain(value):
    """``value`` as plain JSON where it is a number-like or array-like the referee can judge."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def row_strategy(game, last_round):
    if last_round is None:
        history = histories[game] = []
    else:
        history = histories[game]
        row, column = last_round
        history.append((mlgym_player.frozen(row), mlgym_player.frozen(column)))
    return plain(strategy(list(history)))


if __name__ == "__main__":
    mlgym_player.serve({"import_strategy": import_strategy, "row_strategy": row_strategy})
