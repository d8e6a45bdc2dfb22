"""MLGym task plugin: the iterated prisoner's dilemma (task id ``prisoners-dilemma``)."""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]
