"""The vision datasets as MLGym materialises them: from Debian's files, from the hub's format."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from mlgym_datasets_vision import export
from mlgym_datasets_vision import testing as hub

from mlgym.episode.datasets import hidden_folder, materialise, sha256_file
from mlgym.errors import DataUnavailableError
from mlgym.plugins import get_registry
from mlgym.specs import load_dataset

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def dataset(name: str):
    return get_registry().get("datasets", name)


def read_idx(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3]))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(shape)


def test_fashion_mnist_from_the_debian_package_has_the_declared_files_and_hides_test_labels(
        data_root):
    folder = materialise(dataset("fashion-mnist"))
    public = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert public == ["t10k-images-idx3-ubyte", "train-images-idx3-ubyte",
                      "train-labels-idx1-ubyte"]
    hidden = hidden_folder(folder)
    assert hidden is not None and [p.name for p in hidden.iterdir()] == ["t10k-labels-idx1-ubyte"]
    assert not hidden.is_relative_to(folder)  # outside what a workspace mounts
    declared = {f["name"]: f["sha256"] for f in dataset("fashion-mnist").files}
    for path in [*folder.iterdir(), *hidden.iterdir()]:
        if path.name in declared:
            assert sha256_file(path) == declared[path.name]
    assert read_idx(folder / "train-images-idx3-ubyte").shape == (60000, 28, 28)
    assert np.bincount(read_idx(hidden / "t10k-labels-idx1-ubyte")).tolist() == [1000] * 10
    manifest = json.loads((folder / ".mlgym-dataset.json").read_text())
    assert manifest["source"]["system"]["path"] == str(DEBIAN)


def _tiny_fashion(tmp: Path) -> tuple[Path, Path, dict]:
    """The same tiny data as Debian ships it (IDX .gz) and as the hub serves it (parquet)."""
    train = hub.classification_arrays(40, (28, 28), seed=1)
    test = hub.classification_arrays(12, (28, 28), seed=2)
    system = tmp / "debian"
    system.mkdir()
    for prefix, (images, labels) in (("train", train), ("t10k", test)):
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            raw = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big")
                                                          for d in array.shape)
            raw += array.astype(np.uint8).tobytes()
            (system / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(raw, mtime=0))
    hub.fashion_mnist_repo(tmp / "mirror", train, test)
    return system, tmp / "mirror", {"train": train, "test": test}


def _tiny_spec(tmp: Path, system: Path, sources: list[str]) -> Path:
    """fashion-mnist's own dataset.yaml, for tiny data: no fixed checksums, the given sources."""
    import yaml

    spec = yaml.safe_load(dataset("fashion-mnist").source_file.read_text())
    spec["id"] = f"tiny-fashion-{'-'.join(sources)}"
    for f in spec["files"]:
        f.pop("sha256"), f.pop("size")
    chosen = []
    for source in spec["sources"]:
        kind = next(iter(source))
        if kind == "system" and "system" in sources:
            source["system"]["path"] = str(system)
            source["system"]["inputs"] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                                          for p in system.iterdir()}
        if kind in sources:
            chosen.append(source)
    spec["sources"] = chosen
    path = tmp / spec["id"] / "dataset.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(spec))
    return path


def test_fashion_mnist_from_the_hub_is_byte_for_byte_what_the_debian_files_give(data_root):
    system, _, arrays = _tiny_fashion(data_root)
    from_debian = materialise(load_dataset(_tiny_spec(data_root, system, ["system"])))
    from_hub = materialise(load_dataset(_tiny_spec(data_root, system, ["huggingface_dataset"])))
    assert json.loads((from_hub / ".mlgym-dataset.json").read_text())["source"] \
        == {"huggingface_dataset": {"repo": "zalando-datasets/fashion_mnist",
                                    "export": "mlgym_datasets_vision.export:fashion_mnist_from_hub"}}
    for name in export.FASHION_FILES:
        a = (hidden_folder(from_debian) if name.startswith("t10k-labels") else from_debian) / name
        b = (hidden_folder(from_hub) if name.startswith("t10k-labels") else from_hub) / name
        assert a.read_bytes() == b.read_bytes(), name
    assert np.array_equal(read_idx(from_hub / "train-images-idx3-ubyte"), arrays["train"][0])
    assert read_idx(hidden_folder(from_hub) / "t10k-labels-idx1-ubyte").tolist() \
        == arrays["test"][1].tolist()


def test_a_debian_file_with_another_checksum_is_refused_and_the_error_says_what_to_do(data_root):
    system, _, _ = _tiny_fashion(data_root)
    path = _tiny_spec(data_root, system, ["system"])
    (system / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"tampered", mtime=0))
    with pytest.raises(DataUnavailableError) as error:
        materialise(load_dataset(path))
    assert "t10k-labels-idx1-ubyte.gz: sha256" in str(error.value)


def test_cifar10_is_exported_from_the_hub_format_with_the_test_labels_hidden(data_root):
    train = hub.classification_arrays(30, (32, 32, 3), seed=3)
    test = hub.classification_arrays(10, (32, 32, 3), seed=4)
    hub.cifar10_repo(data_root / "mirror", train, test)
    folder = materialise(dataset("cifar10"))
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".npy") \
        == ["test_images.npy", "train_images.npy", "train_labels.npy"]
    assert np.array_equal(np.load(folder / "train_images.npy"), train[0])
    assert np.array_equal(np.load(folder / "train_labels.npy"), train[1])
    assert np.array_equal(np.load(folder / "test_images.npy"), test[0])
    assert np.array_equal(np.load(hidden_folder(folder) / "test_labels.npy"), test[1])
    recorded = json.loads((folder / ".mlgym-dataset.json").read_text())["files"]
    assert recorded["test_labels.npy"] == sha256_file(hidden_folder(folder) / "test_labels.npy")
    assert materialise(dataset("cifar10")) == folder  # cached: the mirror is not read again


def test_coco_captions_are_split_by_file_name_and_the_test_references_hidden(data_root):
    rows = hub.coco_rows(40, seed=5)
    hub.coco_repo(data_root / "mirror", rows)
    folder = materialise(dataset("coco-captions"))
    by_id = {Path(r["file_name"]).stem: r for r in rows}
    seen = {}
    for split in ("train", "val", "test"):
        table = pq.read_table(folder / f"{split}.parquet").to_pydict()
        assert ("captions" in table) == (split != "test")
        for k, image_id in enumerate(table["id"]):
            assert export.coco_split(image_id) == split
            assert table["image"][k] == by_id[image_id]["jpeg"]
            if split != "test":
                assert table["captions"][k] == by_id[image_id]["captions"]
            seen[image_id] = split
    assert sorted(seen) == sorted(by_id)
    references = json.loads((hidden_folder(folder) / "test_captions.json").read_text())
    assert set(references) == {i for i, s in seen.items() if s == "test"} and references
    assert all(references[i] == by_id[i]["captions"] for i in references)
    assert not list(folder.glob("*captions.json"))


def test_a_hub_dataset_that_cannot_be_had_names_what_to_set(data_root):
    with pytest.raises(DataUnavailableError) as error:
        materialise(dataset("cifar10"))
    message = str(error.value)
    assert "uoft-cs/cifar10" in message and "MLGYM_HF_MIRROR" in message
    assert "HF_ENDPOINT" in message


def test_doctor_lists_which_datasets_are_ready(data_root):
    hub.cifar10_repo(data_root / "mirror", hub.classification_arrays(5, (32, 32, 3), 0),
                     hub.classification_arrays(5, (32, 32, 3), 1))
    run = subprocess.run([sys.executable, "-m", "mlgym", "doctor", "--json"],
                         capture_output=True, text=True, timeout=120)
    datasets = json.loads(run.stdout)["datasets"]
    assert datasets["fashion-mnist"]["ready"] and datasets["cifar10"]["ready"]
    assert datasets["cifar10"]["source"].endswith("uoft-cs/cifar10")
    assert not datasets["coco-captions"]["ready"]
    assert any("MLGYM_HF_MIRROR" in need for need in datasets["coco-captions"]["needs"])
    text = subprocess.run([sys.executable, "-m", "mlgym", "doctor"], capture_output=True,
                          text=True, timeout=120).stdout
    assert "coco-captions" in text and "it needs one of:" in text
