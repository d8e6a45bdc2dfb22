"""MLGym task plugin: Mountain Car Continuous on gymnax ``MountainCarContinuous-v0`` (``rl-mountain-car-continuous``)."""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]
