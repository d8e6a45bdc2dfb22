# An evaluator runs with nothing but its own folder, so the scoring code it shares with the other
# image-classification tasks (../_shared/classification.py) is copied into this package's
# evaluator folder before setuptools packs it (wheel, sdist or editable install). The copy is
# ignored by git; an sdist carries it, so a build from it keeps it.
from pathlib import Path
from shutil import copyfile

from setuptools import setup

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent / "_shared" / "classification.py"
if SHARED.is_file():
    copyfile(SHARED, HERE / "src/mlgym_task_fashion_mnist/evaluator/classification.py")
setup()
