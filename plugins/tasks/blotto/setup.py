# An evaluator runs with nothing but its own folder, so the module shared by MLGym's iterated
# games, kept once in ../_shared, is copied into this package's evaluator folder before setuptools
# packs it (wheel, sdist or editable install). The copy is ignored by git. An sdist has no
# ../_shared but carries the copy, so a build from it keeps that.
from pathlib import Path
from shutil import copyfile

from setuptools import setup

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent / "_shared" / "iterated_game.py"
if SHARED.is_file():
    copyfile(SHARED, HERE / "src/mlgym_task_blotto/evaluator/iterated_game.py")
setup()
