# An evaluator runs with nothing but its own folder, so the modules it shares with other tasks
# are copied into this package's evaluator folder before setuptools packs it (wheel, sdist or
# editable install): the iterated game's referee and player from ../_shared, and the two halves
# of the player protocol from the core (core/mlgym/player/lib). The copies are ignored by git. An
# sdist has neither source but carries the copies, so a build from it keeps them.
from pathlib import Path
from shutil import copyfile

from setuptools import setup

HERE = Path(__file__).resolve().parent
EVALUATOR = HERE / "src/mlgym_task_battle_of_sexes/evaluator"
SHARED = [HERE.parent / "_shared" / name for name in ("iterated_game.py", "game_player.py")]
PROTOCOL = HERE.parents[2] / "core/mlgym/player/lib"
for source in [*SHARED, *PROTOCOL.glob("mlgym_*.py")]:
    if source.is_file():
        copyfile(source, EVALUATOR / source.name)
setup()
