# An evaluator runs with nothing but its own folder, and the starter code is copied into the agent's
# workspace as it is, so the files this package shares with the other RL tasks are copied in
# before setuptools packs it (wheel, sdist or editable install): the referee and the player from
# ../_shared/rl and the player protocol from the core (core/mlgym/player/lib) into evaluator/, the
# PPO starter (train.py, networks.py) from ../_shared/rl/starter into starter/. The copies are
# ignored by git. An sdist has neither source but carries the copies, so a build from it keeps them.
from pathlib import Path
from shutil import copyfile

from setuptools import setup

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "src/mlgym_task_rl_meta_maze"
SHARED = HERE.parent / "_shared/rl"
PROTOCOL = HERE.parents[2] / "core/mlgym/player/lib"
COPIES = {"evaluator": [SHARED / "rl_referee.py", SHARED / "rl_player.py",
                        *sorted(PROTOCOL.glob("mlgym_*.py"))],
          "starter": [SHARED / "starter/train.py", SHARED / "starter/networks.py"]}
for folder, sources in COPIES.items():
    for source in sources:
        if source.is_file():
            copyfile(source, PACKAGE / folder / source.name)
setup()
