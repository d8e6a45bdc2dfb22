"""MLGym task plugin: iterated Colonel Blotto (task id ``blotto``)."""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]
