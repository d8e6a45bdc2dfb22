"""MLGym dataset plugin: image datasets shared by the vision tasks.

``fashion-mnist`` (from the Debian package ``dataset-fashion-mnist`` or the hub), ``cifar10`` and
``coco-captions`` (MS-COCO 2014 images with five reference captions each, from the hub). The
functions in :mod:`mlgym_datasets_vision.export` turn what a source holds into the files each
``dataset.yaml`` declares; test labels and reference captions are declared ``hidden``.
"""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent
DATASETS = ("fashion-mnist", "cifar10", "coco-captions")


@hookimpl
def mlgym_datasets() -> list[Path]:
    return [HERE / name / "dataset.yaml" for name in DATASETS]
