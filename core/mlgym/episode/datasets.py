"""Materialise declared datasets: find their files, verify checksums, cache them once.

A dataset (``dataset.yaml``) lists its files with sha256 checksums and the sources that can
provide them, in the author's order of preference:

| source | where the files are | what to do when missing |
|---|---|---|
| ``package`` | a folder inside an installed Python distribution | ``pip install <distribution>`` |
| ``files`` | a folder beside ``dataset.yaml`` | reinstall the plugin that ships it |
| ``system`` | an absolute path, usually from an OS package | e.g. ``apt-get install ...`` |
| ``huggingface`` | a Hugging Face repository (``huggingface_hub``) | network or ``HF_TOKEN`` |

The first source whose files all exist and match their checksums wins; its files are copied
into ``mlgym.locations.data_dir()/<dataset id>/`` (readable by every user, owned by whoever runs
MLGym, never by the sandbox's agent) with a manifest, so later episodes reuse the copy at once.
When no source works, :class:`~mlgym.errors.DataUnavailableError` lists every source tried, why
it failed and what to install or set.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from filelock import FileLock

from mlgym.errors import DataUnavailableError
from mlgym.locations import data_dir, ensure
from mlgym.specs.tasks import DatasetSpec

MANIFEST = ".mlgym-dataset.json"
_CHUNK = 1 << 20


class _SourceFailed(Exception):
    """One source could not provide the files; the message says why and what to do."""


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _expected(dataset: DatasetSpec) -> dict[str, str]:
    return {f["name"]: f["sha256"] for f in dataset.files}


def cached_path(dataset: DatasetSpec, root: Path | None = None) -> Path | None:
    """The cached copy of ``dataset`` if a complete one with the declared checksums exists."""
    folder = (root or data_dir()) / dataset.id
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("files") != _expected(dataset):
        return None
    if not all((folder / name).is_file() for name in manifest["files"]):
        return None
    return folder


def materialise(dataset: DatasetSpec, root: Path | None = None) -> Path:
    """Return a folder holding every file of ``dataset`` with verified checksums.

    The first call copies the files from the first working source into the cache (``root``,
    default ``data_dir()``); later calls return the cached folder without reading the files.
    Raises :class:`DataUnavailableError` naming what to install when no source works.
    """
    root = ensure(root or data_dir())
    found = cached_path(dataset, root)
    if found is not None:
        return found
    with FileLock(str(root / f".{dataset.id}.lock")):
        found = cached_path(dataset, root)
        if found is not None:
            return found
        failures = []
        for source in dataset.sources:
            kind = next(iter(source))
            try:
                files = _resolve(kind, source, dataset)
                _verify(files, _expected(dataset))
            except _SourceFailed as exc:
                failures.append(f"{kind}: {exc}")
                continue
            return _store(dataset, files, root, json.loads(json.dumps(source, default=dict)))
        tried = "\n".join(f"  - {line}" for line in failures)
        raise DataUnavailableError(
            f"dataset {dataset.id!r} ({dataset.source_file}) is not available here; every "
            f"source failed:\n{tried}")


def _resolve(kind: str, entry: Mapping, dataset: DatasetSpec) -> dict[str, Path]:
    """Map each declared file name to the path where the source ``entry`` has it."""
    names = list(_expected(dataset))
    source = entry[kind]
    if kind == "package":
        return _in_folder(_package_folder(source), names)
    if kind == "files":
        return _in_folder(dataset.root / source, names,
                          "reinstall the plugin that ships this dataset")
    if kind == "system":
        hint = source.get("install") or f"install the OS package that provides {source['path']}"
        return _in_folder(Path(source["path"]), names, hint)
    if kind == "huggingface":
        return _from_huggingface(source, names)
    raise _SourceFailed(f"unknown source kind {kind!r}")


def _in_folder(folder: Path, names: list[str], hint: str = "") -> dict[str, Path]:
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        fix = f"; {hint}" if hint else ""
        raise _SourceFailed(f"{folder} lacks {', '.join(missing)}{fix}")
    return {n: folder / n for n in names}


def _package_folder(source: Mapping) -> Path:
    dist_name = source["distribution"]
    install = source.get("install") or f"pip install {dist_name}"
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        raise _SourceFailed(f"Python distribution {dist_name!r} is not installed; run "
                            f"`{install}`") from None
    folder = Path(str(dist.locate_file(source["path"])))
    if not folder.is_dir():
        raise _SourceFailed(f"{dist_name} {dist.version} has no folder {source['path']!r} "
                            f"(looked at {folder}); run `{install}`")
    return folder


def _from_huggingface(source: Mapping, names: list[str]) -> dict[str, Path]:
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise _SourceFailed("huggingface_hub is not installed; run "
                            "`pip install huggingface_hub`") from None
    remote = list(source.get("files") or names)
    if len(remote) != len(names):
        raise _SourceFailed(f"lists {len(remote)} files but the dataset declares {len(names)}")
    repo = source["repo"]
    out = {}
    for name, filename in zip(names, remote, strict=True):
        try:
            path = hf_hub_download(repo, filename, repo_type=source.get("repo_type", "dataset"),
                                   revision=source.get("revision"),
                                   endpoint=os.environ.get("HF_ENDPOINT"))
        except Exception as exc:  # network, auth, missing file: all mean "not from here"
            said = " ".join(str(exc).split())
            raise _SourceFailed(f"{repo}/{filename}: {type(exc).__name__}: {said}; this source "
                                "needs access to the Hugging Face hub (network, HF_TOKEN for "
                                "gated repositories, or HF_ENDPOINT for a mirror)") from None
        out[name] = Path(path)
    return out


def _verify(files: dict[str, Path], expected: dict[str, str]) -> None:
    for name, path in files.items():
        actual = sha256_file(path)
        if actual != expected[name]:
            raise _SourceFailed(f"{path}: sha256 {actual} does not match the declared "
                                f"{expected[name]} (a different version of the data?)")


def _store(dataset: DatasetSpec, files: dict[str, Path], root: Path, origin: dict) -> Path:
    """Copy verified files into the cache, atomically replacing an old or partial copy."""
    final = root / dataset.id
    staging = root / f".{dataset.id}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    for name, path in files.items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        os.chmod(target, 0o444)
    manifest = {"id": dataset.id, "files": _expected(dataset), "source": origin}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    for folder, dirs, _ in os.walk(staging):
        for d in dirs:
            os.chmod(Path(folder) / d, 0o755)
    os.chmod(staging, 0o755)
    if final.exists():
        old = root / f".{dataset.id}.old-{os.getpid()}"
        final.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    staging.rename(final)
    return final
