"""MLGym task plugin: 3-SAT solver heuristic (``3sat``)."""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]
