"""MLGym task plugin: house price regression on the Kaggle Ames data (``house-price``)."""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]


@hookimpl
def mlgym_datasets() -> list[Path]:
    return [HERE / "datasets" / "ames" / "dataset.yaml",
            HERE / "datasets" / "ames-split" / "dataset.yaml"]
