"""Small datasets in the exact format the Hugging Face hub serves, for tests (not used in production).

Each function writes a repository snapshot under ``<mirror>/<owner>/<name>/`` as the hub holds it:
parquet shards made by ``datasets`` with the real features (``Image``, ``ClassLabel``,
``Sequence``) and the README's ``configs`` block that names the splits. Point MLGym at it with
``MLGYM_HF_MIRROR=<mirror>``; the loaders then run ``datasets.load_dataset`` on it unchanged.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

FASHION_CLASSES = ["T - shirt / top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
WORDS = "a the man woman dog cat red blue small big sits runs on near table street grass".split()


def _readme(config: str, splits: dict[str, str]) -> str:
    files = "".join(f"  - split: {s}\n    path: {p}\n" for s, p in splits.items())
    return f"---\nconfigs:\n- config_name: {config}\n  data_files:\n{files}---\n"


def _write(dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.to_parquet(str(path))


def classification_arrays(n: int, shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 images and labels 0-9 whose class shows in the image's mean brightness."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 60, (n, *shape)) + (labels * 20).reshape(-1, *[1] * len(shape))
    return images.astype(np.uint8), labels.astype(np.int64)


def _image_dataset(images: np.ndarray, labels: np.ndarray, column: str, names: list[str]):
    from datasets import ClassLabel, Dataset, Features
    from datasets import Image as ImageFeature

    features = Features({column: ImageFeature(), "label": ClassLabel(names=names)})
    return Dataset.from_dict({column: [Image.fromarray(a) for a in images],
                              "label": labels.tolist()}, features=features)


def fashion_mnist_repo(mirror: Path, train: tuple, test: tuple) -> Path:
    """``zalando-datasets/fashion_mnist``: (images (N, 28, 28), labels) for train and test."""
    repo = mirror / "zalando-datasets/fashion_mnist"
    for split, (images, labels) in (("train", train), ("test", test)):
        _write(_image_dataset(images, labels, "image", FASHION_CLASSES),
               repo / f"fashion_mnist/{split}-00000-of-00001.parquet")
    (repo / "README.md").write_text(_readme("fashion_mnist", {
        "train": "fashion_mnist/train-*", "test": "fashion_mnist/test-*"}))
    return repo


def cifar10_repo(mirror: Path, train: tuple, test: tuple) -> Path:
    """``uoft-cs/cifar10``: (images (N, 32, 32, 3), labels) for train and test."""
    repo = mirror / "uoft-cs/cifar10"
    for split, (images, labels) in (("train", train), ("test", test)):
        _write(_image_dataset(images, labels, "img", CIFAR10_CLASSES),
               repo / f"plain_text/{split}-00000-of-00001.parquet")
    (repo / "README.md").write_text(_readme("plain_text", {
        "train": "plain_text/train-*", "test": "plain_text/test-*"}))
    return repo


def coco_rows(n: int, seed: int) -> list[dict]:
    """``n`` COCO-like images (JPEG, 48x40) with five captions each, named as COCO names them."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        pixels = rng.integers(0, 255, (40, 48, 3)).astype(np.uint8)
        jpeg = io.BytesIO()
        Image.fromarray(pixels).save(jpeg, format="JPEG", quality=90)
        image_id = 100000 + 37 * k
        captions = [" ".join(rng.choice(WORDS, rng.integers(4, 9))).capitalize() + "."
                    for _ in range(5 + k % 2)]
        rows.append({"file_name": f"COCO_val2014_{image_id:012d}.jpg", "id": image_id,
                     "jpeg": jpeg.getvalue(), "captions": captions})
    return rows


def coco_repo(mirror: Path, rows: list[dict]) -> Path:
    """``lmms-lab/COCO-Caption``: its ``val`` split with the hub's columns and features."""
    from datasets import Dataset, Features, Sequence, Value
    from datasets import Image as ImageFeature

    features = Features({
        "question_id": Value("string"), "image": ImageFeature(), "question": Value("string"),
        "answer": Sequence(Value("string")), "id": Value("int64"), "license": Value("int8"),
        "file_name": Value("string"), "coco_url": Value("string"), "height": Value("int32"),
        "width": Value("int32"), "date_captured": Value("string")})
    data = Dataset.from_dict({
        "question_id": [r["file_name"] for r in rows],
        "image": [{"bytes": r["jpeg"], "path": None} for r in rows],
        "question": ["Provide a one-sentence caption for the provided image."] * len(rows),
        "answer": [r["captions"] for r in rows], "id": [r["id"] for r in rows],
        "license": [3] * len(rows), "file_name": [r["file_name"] for r in rows],
        "coco_url": [f"http://images.cocodataset.org/val2014/{r['file_name']}" for r in rows],
        "height": [40] * len(rows), "width": [48] * len(rows),
        "date_captured": ["2013-11-14 16:28:13"] * len(rows)}, features=features)
    repo = mirror / "lmms-lab/COCO-Caption"
    _write(data, repo / "data/val-00000-of-00001.parquet")
    (repo / "README.md").write_text(_readme("default", {"val": "data/val-*"}))
    return repo
