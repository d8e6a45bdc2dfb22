"""MLGym task plugin: natural language inference on MultiNLI (``mnli``).

The data come from the Hugging Face hub (``nyu-mll/multi_nli``, through ``datasets``), exported
once into the dataset ``multi-nli`` by :func:`mlgym_task_mnli.data.export`.
"""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]


@hookimpl
def mlgym_datasets() -> list[Path]:
    return [HERE / "datasets" / "multi-nli" / "dataset.yaml"]
