"""MLGym task plugin: natural language inference on MultiNLI (``mnli``).

The data come from the Hugging Face hub (``nyu-mll/multi_nli``) through ``datasets``:
``python -m mlgym_task_mnli.data`` writes the workspace's files and the hidden labels once, and
declares the dataset ``multi-nli`` with the checksums of what it wrote.
"""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]


@hookimpl
def mlgym_datasets() -> list[Path]:
    dataset = HERE / "datasets" / "multi-nli" / "dataset.yaml"
    return [dataset] if dataset.exists() else []
