"""Task and dataset specifications, read from their schema-checked YAML files.

A :class:`TaskSpec` is immutable: the parameters of a task, separate from any episode's state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mlgym.errors import ConfigError
from mlgym.specs.config import load_config

DEFAULT_COMMAND_TIMEOUT = 60.0
DEFAULT_TRAINING_TIMEOUT = 1800.0
DEFAULT_EVALUATOR_TIMEOUT = 1800.0
DEFAULT_PROTOCOLS = {"mlgym": {"validate": "test", "submit": "test"},
                     "strict": {"validate": "dev", "submit": "test"}}


@dataclass(frozen=True)
class Metric:
    """A metric the evaluator reports: its name, direction and whether it is the primary one."""

    name: str
    direction: str  # "maximize" | "minimize"
    primary: bool = False
    description: str = ""
    low: float | None = None  # valid values lie in [low, high]; None: no bound
    high: float | None = None

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "maximize"

    def out_of_range(self, value: float) -> bool:
        """Whether ``value`` lies outside the metric's declared range."""
        return ((self.low is not None and value < self.low)
                or (self.high is not None and value > self.high))

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` is strictly better than ``b`` in this metric's direction."""
        return a > b if self.higher_is_better else a < b


@dataclass(frozen=True)
class Compute:
    """What a task needs to run: CPUs, memory in MiB, GPUs, disk in MiB, processes."""

    cpus: float = 1.0
    memory_mb: int = 4096
    gpus: int = 0
    disk_mb: int = 10240
    processes: int = 512


@dataclass(frozen=True)
class PlayerSpec:
    """The agent's code that the evaluator calls, started as a sandboxed player per connection."""

    command: tuple[str, ...]
    path: Path  # the player's folder, mounted read-only as its working directory
    call_timeout: float = 60.0
    start_timeout: float = 30.0
    max_starts: int = 8
    memory_mb: int | None = None  # None: the task's compute.memory
    cpus: float | None = None  # None: the task's compute.cpus
    processes: int = 64


@dataclass(frozen=True)
class TaskSpec:
    """Everything the framework knows about a task, with paths resolved against ``root``."""

    id: str
    name: str
    description: str
    root: Path
    metrics: tuple[Metric, ...]
    evaluator_command: tuple[str, ...]
    evaluator_dir: Path | None = None
    evaluator_visible: bool = True
    evaluator_timeout: float = DEFAULT_EVALUATOR_TIMEOUT
    starter_dir: Path | None = None
    hidden_dir: Path | None = None
    datasets: tuple[tuple[str, str], ...] = ()  # (dataset id, mount folder in the workspace)
    submission_files: tuple[str, ...] = ()
    submission_description: str = ""
    submission_max_mb: int = 256
    player: PlayerSpec | None = None
    baseline: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    paper_baseline: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    paper_best: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    paper_best_method: str = ""
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT
    training_timeout: float = DEFAULT_TRAINING_TIMEOUT
    max_steps: int = 50
    time_limit: float | None = None
    compute: Compute = Compute()
    protocols: MappingProxyType = field(default_factory=lambda: MappingProxyType(DEFAULT_PROTOCOLS))
    splits: tuple[str, ...] = ("test",)
    requirements: tuple[str, ...] = ()
    system_packages: tuple[str, ...] = ()
    base_image: str | None = None
    knobs: tuple[MappingProxyType, ...] = ()
    training_commands: tuple[str, ...] = ()  # turn the starter into a submission, in order
    training_description: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    seed: int = 0
    source_file: Path | None = None

    @property
    def primary_metric(self) -> Metric:
        return next(m for m in self.metrics if m.primary)

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def split_for(self, protocol: str, action: str) -> str:
        """The data split that ``action`` ("validate" or "submit") scores on under ``protocol``."""
        if protocol not in self.protocols:
            raise ConfigError(f"task {self.id!r} has no protocol {protocol!r}; known: {', '.join(self.protocols)}")
        return self.protocols[protocol][action]


_UNITS = {"": 1 / 2**20, "b": 1 / 2**20, "k": 1 / 1024, "kb": 1 / 1024, "kib": 1 / 1024,
          "m": 1, "mb": 1, "mib": 1, "g": 1024, "gb": 1024, "gib": 1024, "t": 2**20, "tb": 2**20, "tib": 2**20}


def parse_size_mb(value: int | str) -> int:
    """``"4GiB"`` -> 4096; an integer is already megabytes."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", value)
    if not match or match.group(2).lower() not in _UNITS:
        raise ConfigError(f"cannot read size {value!r}; write e.g. 512MiB or 4GiB")
    return max(1, int(float(match.group(1)) * _UNITS[match.group(2).lower()]))


def load_task(path: str | Path) -> TaskSpec:
    """Read and validate a ``task.yaml``; raise :class:`ConfigError` with every problem."""
    path = Path(path).resolve()
    data = load_config(path, "task")
    root = path.parent
    if len([m for m in data["metrics"] if m.get("primary")]) == 0:
        data["metrics"][0]["primary"] = True  # a single metric is primary by default
    evaluator = data["evaluator"]

    def folder(value: str | None) -> Path | None:
        return None if value is None else (root / value).resolve()

    starter = folder(data.get("starter_code"))
    evaluator_dir = folder(evaluator.get("path"))
    hidden = folder(data.get("hidden_data"))
    command = evaluator["command"]
    command = tuple(command.split()) if isinstance(command, str) else tuple(command)
    limits = data.get("limits", {})
    compute = data.get("compute", {})
    env = data.get("environment", {})
    protocols = {**DEFAULT_PROTOCOLS, **data.get("protocols", {})}
    protocols = {k: {**DEFAULT_PROTOCOLS[k], **v} for k, v in protocols.items()}
    paper = data.get("paper", {})
    return TaskSpec(
        id=data["id"],
        name=data["name"],
        description=data["description"].strip(),
        root=root,
        metrics=tuple(Metric(m["name"], m["direction"], bool(m.get("primary")),
                             m.get("description", ""), *m.get("range", (None, None)))
                      for m in data["metrics"]),
        evaluator_command=command,
        evaluator_dir=evaluator_dir,
        evaluator_visible=evaluator.get("visible", True),
        evaluator_timeout=float(evaluator.get("timeout", DEFAULT_EVALUATOR_TIMEOUT)),
        starter_dir=starter,
        hidden_dir=hidden,
        datasets=tuple((d["id"], d.get("mount", f"data/{d['id']}")) for d in data.get("datasets", [])),
        submission_files=tuple(data.get("submission", {}).get("files", [])),
        submission_description=data.get("submission", {}).get("description", ""),
        submission_max_mb=parse_size_mb(data.get("submission", {}).get("max_size", 256)),
        player=_player(data.get("player"), root, evaluator_dir),
        baseline=MappingProxyType(dict(data.get("baseline", {}))),
        paper_baseline=MappingProxyType(dict(paper.get("baseline", {}))),
        paper_best=MappingProxyType(dict(paper.get("best", {}))),
        paper_best_method=paper.get("best_method", ""),
        command_timeout=float(limits.get("command_timeout", DEFAULT_COMMAND_TIMEOUT)),
        training_timeout=float(limits.get("training_timeout", DEFAULT_TRAINING_TIMEOUT)),
        max_steps=int(limits.get("max_steps", 50)),
        time_limit=limits.get("time_limit"),
        compute=Compute(
            cpus=float(compute.get("cpus", 1.0)),
            memory_mb=parse_size_mb(compute.get("memory", 4096)),
            gpus=int(compute.get("gpus", 0)),
            disk_mb=parse_size_mb(compute.get("disk", 10240)),
            processes=int(compute.get("processes", 512)),
        ),
        protocols=MappingProxyType(protocols),
        splits=tuple(data.get("splits", ["test"])),
        requirements=tuple(env.get("requirements", [])),
        system_packages=tuple(env.get("system_packages", [])),
        base_image=env.get("base_image"),
        knobs=tuple(MappingProxyType(k) for k in data.get("knobs", [])),
        training_commands=tuple(data.get("training", {}).get("commands", [])),
        training_description=data.get("training", {}).get("description", ""),
        category=data.get("category", ""),
        tags=tuple(data.get("tags", [])),
        seed=int(data.get("seed", 0)),
        source_file=path,
    )


def _player(data: dict | None, root: Path, evaluator_dir: Path | None) -> PlayerSpec | None:
    if data is None:
        return None
    command = data["command"]
    folder = (root / data["path"]).resolve() if "path" in data else evaluator_dir
    if folder is None:
        raise ConfigError(f"{root / 'task.yaml'}: player: give a 'path' (the player's folder) or "
                          "an evaluator.path to run the player in")
    memory = data.get("memory")
    return PlayerSpec(
        command=tuple(command.split()) if isinstance(command, str) else tuple(command),
        path=folder,
        call_timeout=float(data.get("call_timeout", 60.0)),
        start_timeout=float(data.get("start_timeout", 30.0)),
        max_starts=int(data.get("max_starts", 8)),
        memory_mb=None if memory is None else parse_size_mb(memory),
        cpus=None if data.get("cpus") is None else float(data["cpus"]),
        processes=int(data.get("processes", 64)),
    )


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset declared once (files with checksums, sources in order of preference)."""

    id: str
    name: str
    description: str
    files: tuple[MappingProxyType, ...]
    sources: tuple[MappingProxyType, ...]
    root: Path
    license: str = ""
    source_file: Path | None = None


def load_dataset(path: str | Path) -> DatasetSpec:
    """Read and validate a ``dataset.yaml``."""
    path = Path(path).resolve()
    data = load_config(path, "dataset")
    return DatasetSpec(
        id=data["id"],
        name=data.get("name", data["id"]),
        description=data.get("description", ""),
        files=tuple(MappingProxyType(f) for f in data["files"]),
        sources=tuple(MappingProxyType(s) for s in data["sources"]),
        root=path.parent,
        license=data.get("license", ""),
        source_file=path,
    )


def describe(value: Any) -> str:
    """A short human string for a score or a missing one."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
