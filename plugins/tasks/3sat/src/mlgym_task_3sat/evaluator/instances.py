"""The fixed instance sets: reading them and checking them against their manifest.

Each split is one gzip-compressed JSON file ``<split>.json.gz``; beside it, ``manifest.json``
records how it was generated (seed, number of variables) and its sha256. The dev set ships with
the evaluator (the agent may read it); the test set lives in the task's hidden data.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

FORMAT = "mlgym-3sat-instances/1"


@dataclass(frozen=True)
class Instance:
    """One CNF formula with its known answer."""

    name: str
    num_vars: int
    clauses: tuple[tuple[int, ...], ...]
    satisfiable: bool


class InstanceSetError(Exception):
    """An instance file is missing, corrupted or does not match its manifest."""


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_instances(path: Path) -> list[Instance]:
    """Every instance of one file, in order."""
    data = json.loads(gzip.decompress(path.read_bytes()))
    if data.get("format") != FORMAT:
        raise InstanceSetError(f"{path}: format {data.get('format')!r} is not {FORMAT!r}")
    return [Instance(i["name"], i["num_vars"], tuple(tuple(c) for c in i["clauses"]),
                     i["satisfiable"]) for i in data["instances"]]


def verified_instance_file(folder: Path, split: str) -> Path:
    """The instance file of ``split`` in ``folder``, its sha256 checked against the manifest."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise InstanceSetError(f"no manifest.json in {folder}; the {split} instances are missing")
    entry = json.loads(manifest_path.read_text()).get("splits", {}).get(split)
    if entry is None:
        raise InstanceSetError(f"{manifest_path} has no entry for split {split!r}")
    path = folder / entry["file"]
    if not path.is_file():
        raise InstanceSetError(f"{path} is missing")
    digest = sha256_of(path)
    if digest != entry["sha256"]:
        raise InstanceSetError(f"{path} has sha256 {digest}, but {manifest_path} expects "
                               f"{entry['sha256']}; reinstall the task or regenerate the "
                               "instances with scripts/generate_instances.py")
    return path
