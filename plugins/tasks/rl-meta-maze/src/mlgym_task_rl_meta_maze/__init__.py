"""MLGym task plugin: Meta Maze on gymnax ``MetaMaze-misc`` (``rl-meta-maze``)."""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]
