"""MLGym task plugin: Breakout on gymnax ``Breakout-MinAtar`` (``rl-breakout-minatar``)."""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]
