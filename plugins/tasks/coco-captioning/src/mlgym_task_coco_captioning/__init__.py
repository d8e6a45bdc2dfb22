"""MLGym task plugin: MS-COCO image captioning scored by corpus BLEU (``coco-captioning``)."""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]
