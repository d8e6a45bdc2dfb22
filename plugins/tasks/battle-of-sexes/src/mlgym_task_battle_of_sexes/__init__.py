"""MLGym task plugin: the iterated battle of the sexes (task id ``battle-of-sexes``)."""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]
