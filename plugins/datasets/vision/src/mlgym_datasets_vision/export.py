"""Writers of the vision datasets' files, called by MLGym's dataset machinery (``export:``).

Each function takes what a source holds (a folder, or a ``datasets.DatasetDict`` loaded from the
hub) and an output folder, and writes exactly the files its ``dataset.yaml`` declares. Every
writer is deterministic, so the same data gives the same bytes and the declared checksums hold
whichever source provided it.

Formats, chosen to be read with numpy alone:

- Fashion-MNIST: the original IDX files, uncompressed (``train-images-idx3-ubyte``, ...).
- CIFAR-10: ``.npy`` arrays, images uint8 (N, 32, 32, 3) and labels int64 (N,).
- COCO captions: Parquet tables with columns ``id`` (the COCO file name without ``.jpg``),
  ``image`` (the original JPEG bytes) and, for train and val, ``captions`` (list of strings);
  the test references go to ``test_captions.json`` (``{id: [caption, ...]}``), a hidden file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

FASHION_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


# -- Fashion-MNIST ----------------------------------------------------------------------------

def fashion_mnist_from_idx_gz(folder: Path, out: Path) -> None:
    """The four ``*-ubyte.gz`` files of the original distribution (Debian's package), unpacked."""
    for name in FASHION_FILES:
        with gzip.open(folder / f"{name}.gz", "rb") as src, open(out / name, "wb") as dst:
            shutil.copyfileobj(src, dst)


def fashion_mnist_from_hub(data, out: Path) -> None:
    """``zalando-datasets/fashion_mnist``: splits train and test, columns image (28x28 L), label."""
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = _images_and_labels(data[split], "image", (28, 28))
        write_idx(out / f"{prefix}-images-idx3-ubyte", images)
        write_idx(out / f"{prefix}-labels-idx1-ubyte", labels)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An unsigned-byte IDX file: magic 0x00 0x00 0x08 <dims>, big-endian sizes, the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.tobytes())


# -- CIFAR-10 ---------------------------------------------------------------------------------

def cifar10_from_hub(data, out: Path) -> None:
    """``uoft-cs/cifar10``: splits train and test, columns img (32x32 RGB), label (0-9)."""
    for split in ("train", "test"):
        images, labels = _images_and_labels(data[split], "img", (32, 32, 3))
        _save_npy(out / f"{split}_images.npy", images)
        _save_npy(out / f"{split}_labels.npy", labels.astype(np.int64))


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.lib.format.write_array(f, np.ascontiguousarray(array), version=(1, 0))


def _images_and_labels(split, column: str, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Decode a split's images (PIL, via the ``Image`` feature) into one uint8 array."""
    images = np.empty((len(split), *shape), dtype=np.uint8)
    for i, image in enumerate(split[column]):
        pixels = np.asarray(image.convert("L" if len(shape) == 2 else "RGB"), dtype=np.uint8)
        if pixels.shape != shape:
            raise ValueError(f"{column} {i} has shape {pixels.shape}, expected {shape}")
        images[i] = pixels
    labels = np.asarray(split["label"], dtype=np.int64)
    if labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise ValueError("labels must be class numbers 0-9")
    return images, labels


# -- COCO captions ----------------------------------------------------------------------------

COCO_TEST_SHARE = 10  # one image in ten (by a hash of its file name) is a test image
COCO_SPLITS = ("train", "val", "test")


def coco_split(image_id: str) -> str:
    """Which of our splits a COCO image belongs to: a fixed function of its file name."""
    bucket = int(hashlib.sha256(image_id.encode()).hexdigest(), 16) % COCO_TEST_SHARE
    return "test" if bucket == 0 else "val" if bucket == 1 else "train"


def coco_from_hub(data, out: Path) -> None:
    """``lmms-lab/COCO-Caption``: COCO 2014 val, 40,504 images with five captions each.

    Columns used: ``file_name``, ``image`` (the JPEG) and ``answer`` (the reference captions).
    COCO's own test images have no public captions, so the labelled images are split here:
    a tenth each for test and val by a hash of the file name, the rest for training.
    """
    rows: dict[str, list[tuple[str, bytes, list[str]]]] = {s: [] for s in COCO_SPLITS}
    split = data["val"].cast_column("image", _undecoded_image())
    for row in split:
        image_id = Path(row["file_name"]).stem
        captions = [" ".join(c.split()) for c in row["answer"]]
        rows[coco_split(image_id)].append((image_id, _jpeg_bytes(row["image"]), captions))
    write_coco(out, rows)


def write_coco(out: Path, rows: dict[str, list[tuple[str, bytes, list[str]]]]) -> None:
    """The caption files from ``{split: [(id, jpeg bytes, captions), ...]}``, sorted by id."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for split in COCO_SPLITS:
        items = sorted(rows[split])
        columns = {"id": pa.array([i for i, _, _ in items], pa.string()),
                   "image": pa.array([b for _, b, _ in items], pa.binary())}
        if split != "test":
            columns["captions"] = pa.array([c for _, _, c in items], pa.list_(pa.string()))
        pq.write_table(pa.table(columns), out / f"{split}.parquet", compression="none")
    references = {i: c for i, _, c in sorted(rows["test"])}
    (out / "test_captions.json").write_text(json.dumps(references, indent=0, sort_keys=True))


def _undecoded_image():
    from datasets import Image

    return Image(decode=False)


def _jpeg_bytes(image: dict) -> bytes:
    if image.get("bytes"):
        return image["bytes"]
    return Path(image["path"]).read_bytes()


def read_captions(path: Path) -> Iterable[tuple[str, list[str]]]:
    """(id, captions) of a train or val table; a helper for tests and scripts."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["id", "captions"]).to_pydict()
    return zip(table["id"], table["captions"], strict=True)


def decode_jpeg(data: bytes):
    """A PIL image from JPEG bytes (RGB)."""
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB")
