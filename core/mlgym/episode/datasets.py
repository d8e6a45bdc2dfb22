"""Materialise declared datasets: find their files, verify checksums, cache them once.

A dataset (``dataset.yaml``) lists its files with sha256 checksums and the sources that can
provide them, in the author's order of preference:

| source | where the files are | what to do when missing |
|---|---|---|
| ``package`` | a folder inside an installed Python distribution | ``pip install <distribution>`` |
| ``files`` | a folder beside ``dataset.yaml`` | reinstall the plugin that ships it |
| ``system`` | an absolute path, usually from an OS package | e.g. ``apt-get install ...`` |
| ``huggingface`` | files of a Hugging Face repository (``huggingface_hub``) | network or ``HF_TOKEN`` |
| ``huggingface_dataset`` | a hub dataset loaded with ``datasets.load_dataset`` | network, or a mirror |

A source may name an ``export`` function (``module:function``, in the plugin that declares the
dataset) that writes the declared files from what the source holds: ``export(folder, out)`` for
a folder source (after its ``inputs`` match their checksums), ``export(dataset_dict, out)`` for
``huggingface_dataset``. So one dataset can come from an OS package or from the hub and be the
same bytes, verified by the same checksums. A file without a declared ``sha256`` (data whose
exact bytes cannot be known in advance, such as images exported from a hub revision) has its
checksum recorded when it is first materialised and checked against that record afterwards.

The first source whose files all exist and match their checksums wins; its files are copied
into ``mlgym.locations.data_dir()/<dataset id>/`` (readable by every user, owned by whoever runs
MLGym, never by the sandbox's agent) with a manifest, so later episodes reuse the copy at once.
Files marked ``hidden: true`` (test labels, reference captions) go to
``data_dir()/_hidden/<dataset id>/`` instead: workspaces get only the public folder, evaluators
see the whole data folder, so an evaluator reads them at ``$MLGYM_DATA_DIR/_hidden/<id>/``.
When no source works, :class:`~mlgym.errors.DataUnavailableError` lists every source tried, why
it failed and what to install or set.

``MLGYM_HF_MIRROR`` names a folder holding hub repositories at ``<owner>/<name>/`` (a snapshot
of the repository's files); both hub sources read a repository found there instead of the hub.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from mlgym.errors import DataUnavailableError
from mlgym.locations import data_dir, ensure
from mlgym.specs.tasks import DatasetSpec

MANIFEST = ".mlgym-dataset.json"
HIDDEN = "_hidden"  # not a valid dataset id, so it never collides with one
MIRROR_VAR = "MLGYM_HF_MIRROR"
_CHUNK = 1 << 20
_HUB_HINT = ("this source needs access to the Hugging Face hub (network, HF_TOKEN for gated "
             f"repositories, HF_ENDPOINT for a hub mirror) or {MIRROR_VAR}=<folder> holding "
             "the repository's files at <folder>/<owner>/<name>/")


class _SourceFailed(Exception):
    """One source could not provide the files; the message says why and what to do."""


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _expected(dataset: DatasetSpec) -> dict[str, str | None]:
    return {f["name"]: f.get("sha256") for f in dataset.files}


def _hidden_names(dataset: DatasetSpec) -> set[str]:
    return {f["name"] for f in dataset.files if f.get("hidden")}


def hidden_folder(folder: Path) -> Path | None:
    """The hidden part of the dataset cached at ``folder`` (``<root>/_hidden/<id>``), if any."""
    hidden = folder.parent / HIDDEN / folder.name
    return hidden if hidden.is_dir() else None


def system_folders(dataset: DatasetSpec) -> list[Path]:
    """The folders of the system's own file tree (``system`` sources) holding files of a dataset
    with hidden files: a sandbox that shows the agent the system's ``/usr`` must hide them, or
    an OS package's test labels would be in reach."""
    if not _hidden_names(dataset):
        return []
    return [Path(s["system"]["path"]) for s in dataset.sources if "system" in s]


def cached_path(dataset: DatasetSpec, root: Path | None = None) -> Path | None:
    """The cached copy of ``dataset`` if a complete one with the declared checksums exists."""
    root = root or data_dir()
    folder = root / dataset.id
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    recorded = manifest.get("files")
    expected = _expected(dataset)
    if not isinstance(recorded, dict) or set(recorded) != set(expected):
        return None
    if any(sha is not None and recorded[name] != sha for name, sha in expected.items()):
        return None
    if manifest.get("hidden", []) != sorted(_hidden_names(dataset)):
        return None
    hidden = root / HIDDEN / dataset.id
    for name in expected:
        if not ((hidden if name in _hidden_names(dataset) else folder) / name).is_file():
            return None
    return folder


def materialise(dataset: DatasetSpec, root: Path | None = None) -> Path:
    """Return the folder holding every public file of ``dataset``, with verified checksums.

    The first call copies the files from the first working source into the cache (``root``,
    default ``data_dir()``); later calls return the cached folder without reading the files.
    Hidden files are at :func:`hidden_folder` of the result. Raises
    :class:`DataUnavailableError` naming what to install or set when no source works.
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
        scratch = root / f".{dataset.id}.export-{os.getpid()}"
        try:
            for source in dataset.sources:
                kind = next(iter(source))
                shutil.rmtree(scratch, ignore_errors=True)
                try:
                    files = _resolve(kind, source, dataset, scratch)
                    sums = _verify(files, _expected(dataset))
                except _SourceFailed as exc:
                    failures.append(f"{kind}: {exc}")
                    continue
                origin = json.loads(json.dumps(source, default=dict))
                return _store(dataset, files, sums, root, origin)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        tried = "\n".join(f"  - {line}" for line in failures)
        raise DataUnavailableError(
            f"dataset {dataset.id!r} ({dataset.source_file}) is not available here; every "
            f"source failed:\n{tried}")


@dataclass(frozen=True)
class DatasetStatus:
    """Whether a dataset is ready, and where it would come from otherwise (``mlgym doctor``)."""

    id: str
    cached: Path | None  # the cached folder, when materialised already
    local: str | None  # a source on this machine that can provide it now (not yet checked)
    hints: tuple[str, ...]  # what to install or set for each source that cannot

    @property
    def ready(self) -> bool:
        return self.cached is not None or self.local is not None


def status(dataset: DatasetSpec, root: Path | None = None) -> DatasetStatus:
    """How ``dataset`` stands here, without copying or downloading anything."""
    found = cached_path(dataset, root)
    hints = []
    local = None
    for source in dataset.sources:
        kind = next(iter(source))
        entry = source[kind]
        try:
            if kind in ("package", "files", "system"):
                folder = _source_folder(kind, entry, dataset)
                needed = list(entry.get("inputs") or {}) if _exports(entry) else \
                    list(_expected(dataset))
                _in_folder(folder, needed, _hint(kind, entry))
                local = local or f"{kind}: {folder}"
            elif _mirrored(entry["repo"]) is not None:
                local = local or f"{kind}: {_mirrored(entry['repo'])}"
            else:
                hints.append(f"{kind} {entry['repo']}: {_HUB_HINT}")
        except _SourceFailed as exc:
            hints.append(f"{kind}: {exc}")
    return DatasetStatus(dataset.id, found, local, tuple(hints))


# -- sources ----------------------------------------------------------------------------------

def _exports(entry: object) -> bool:
    return isinstance(entry, Mapping) and bool(entry.get("export"))


def _hint(kind: str, entry: Mapping | str) -> str:
    if kind == "files":
        return "reinstall the plugin that ships this dataset"
    if kind == "system":
        assert isinstance(entry, Mapping)
        return entry.get("install") or f"install the OS package that provides {entry['path']}"
    return ""


def _source_folder(kind: str, entry: Mapping | str, dataset: DatasetSpec) -> Path:
    if kind == "package":
        assert isinstance(entry, Mapping)
        return _package_folder(entry)
    if kind == "files":
        return dataset.root / (entry if isinstance(entry, str) else entry["path"])
    assert isinstance(entry, Mapping)
    return Path(entry["path"])


def _resolve(kind: str, source: Mapping, dataset: DatasetSpec, scratch: Path) -> dict[str, Path]:
    """Map each declared file name to the path where the source ``source`` has it."""
    names = list(_expected(dataset))
    entry = source[kind]
    if kind in ("package", "files", "system"):
        folder = _source_folder(kind, entry, dataset)
        if not _exports(entry):
            return _in_folder(folder, names, _hint(kind, entry))
        inputs = dict(entry.get("inputs") or {})
        _verify(_in_folder(folder, list(inputs), _hint(kind, entry)), inputs)
        return _export(entry["export"], folder, scratch / "out", names)
    if kind == "huggingface":
        return _from_huggingface(entry, names)
    if kind == "huggingface_dataset":
        material = _load_hub_dataset(entry, scratch / "hub-cache")
        return _export(entry["export"], material, scratch / "out", names)
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


def _export(target: str, material: object, scratch: Path, names: list[str]) -> dict[str, Path]:
    """Run the source's ``export`` function into ``scratch`` and collect the declared files."""
    function = _function(target)
    scratch.mkdir(parents=True)
    try:
        function(material, scratch)
    except _SourceFailed:
        raise
    except Exception as exc:  # the data is not what the exporter expects: this source fails
        raise _SourceFailed(f"export {target} failed: {type(exc).__name__}: {exc}") from exc
    return _in_folder(scratch, names, f"export {target} did not write them")


def _function(target: str) -> Callable[[object, Path], object]:
    module, _, name = target.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise _SourceFailed(f"export function {target!r} cannot be imported: {exc}") from None


def _mirrored(repo: str) -> Path | None:
    mirror = os.environ.get(MIRROR_VAR)
    if not mirror:
        return None
    folder = Path(mirror).expanduser() / repo
    return folder if folder.is_dir() else None


def _load_hub_dataset(entry: Mapping, scratch_cache: Path) -> object:
    """The hub dataset as a ``DatasetDict``; one read from a mirror goes through a throw-away
    cache (``datasets`` would otherwise serve an older copy it cached from another folder)."""
    try:
        import datasets
    except ImportError:
        raise _SourceFailed("the `datasets` library is not installed; run "
                            "`pip install datasets`") from None
    repo = entry["repo"]
    local = _mirrored(repo)
    try:
        if local is not None:
            return datasets.load_dataset(str(local), entry.get("name"),
                                         cache_dir=str(scratch_cache))
        return datasets.load_dataset(repo, entry.get("name"), revision=entry.get("revision"))
    except Exception as exc:  # network, auth, a missing repository: "not from here"
        said = " ".join(str(exc).split())[:500]
        where = local or repo
        raise _SourceFailed(f"{where}: {type(exc).__name__}: {said}; {_HUB_HINT}") from None


def _from_huggingface(source: Mapping, names: list[str]) -> dict[str, Path]:
    remote = list(source.get("files") or names)
    if len(remote) != len(names):
        raise _SourceFailed(f"lists {len(remote)} files but the dataset declares {len(names)}")
    repo = source["repo"]
    local = _mirrored(repo)
    if local is not None:
        files = _in_folder(local, remote, f"the mirror {local} is incomplete")
        return {name: files[filename] for name, filename in zip(names, remote, strict=True)}
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise _SourceFailed("huggingface_hub is not installed; run "
                            "`pip install huggingface_hub`") from None
    out = {}
    for name, filename in zip(names, remote, strict=True):
        try:
            path = hf_hub_download(repo, filename, repo_type=source.get("repo_type", "dataset"),
                                   revision=source.get("revision"),
                                   endpoint=os.environ.get("HF_ENDPOINT"))
        except Exception as exc:  # network, auth, missing file: all mean "not from here"
            said = " ".join(str(exc).split())[:500]
            raise _SourceFailed(f"{repo}/{filename}: {type(exc).__name__}: {said}; "
                                f"{_HUB_HINT}") from None
        out[name] = Path(path)
    return out


def _verify(files: dict[str, Path], expected: Mapping[str, str | None]) -> dict[str, str]:
    """Check each file against its declared sha256; return every file's actual sha256."""
    sums = {}
    for name, path in files.items():
        actual = sums[name] = sha256_file(path)
        if expected.get(name) is not None and actual != expected[name]:
            raise _SourceFailed(f"{path}: sha256 {actual} does not match the declared "
                                f"{expected[name]} (a different version of the data?)")
    return sums


# -- the cache --------------------------------------------------------------------------------

def _store(dataset: DatasetSpec, files: dict[str, Path], sums: dict[str, str], root: Path,
           origin: dict) -> Path:
    """Copy verified files into the cache, atomically replacing an old or partial copy."""
    hidden = _hidden_names(dataset)
    staging = root / f".{dataset.id}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    for name, path in files.items():
        target = staging / ("hidden" if name in hidden else "public") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        os.chmod(target, 0o444)
    (staging / "public").mkdir(exist_ok=True)
    manifest = {"id": dataset.id, "files": sums, "hidden": sorted(hidden), "source": origin}
    (staging / "public" / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    for folder, dirs, _ in os.walk(staging):
        for d in dirs:
            os.chmod(Path(folder) / d, 0o755)
    os.chmod(staging, 0o755)
    final = root / dataset.id
    _replace(staging / "public", final, root)
    hidden_final = root / HIDDEN / dataset.id
    if hidden:
        ensure(root / HIDDEN).chmod(0o755)
        _replace(staging / "hidden", hidden_final, root)
    else:
        shutil.rmtree(hidden_final, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    return final


def _replace(new: Path, final: Path, root: Path) -> None:
    if final.exists():
        old = root / f".{final.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    new.rename(final)
