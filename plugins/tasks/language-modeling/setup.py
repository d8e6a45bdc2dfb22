# An evaluator runs with nothing but its own folder, so the two halves of MLGym's player protocol
# (core/mlgym/player/lib) are copied into this package's evaluator folder before setuptools packs
# it (wheel, sdist or editable install). The copies are ignored by git. An sdist has no core/ but
# carries the copies, so a build from it keeps them.
from pathlib import Path
from shutil import copyfile

from setuptools import setup

HERE = Path(__file__).resolve().parent
EVALUATOR = HERE / "src/mlgym_task_language_modeling/evaluator"
for source in (HERE.parents[2] / "core/mlgym/player/lib").glob("mlgym_*.py"):
    copyfile(source, EVALUATOR / source.name)
setup()
