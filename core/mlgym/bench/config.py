"""The run config of ``mlgym bench run`` (``schemas/run.schema.json``) and its expansion into
episodes: every task x agent x seed, each with the agent config it runs with and the compute its
task needs.

Problems are reported like every other YAML file's, with file, line and column, and also those
the schema cannot see: an unknown task or agent id, a tag no task has, two agents with one label.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgym.agents.launch import EpisodeSpec, safe_name
from mlgym.agents.trajectory import method_name
from mlgym.errors import ConfigError, UnknownIdError
from mlgym.specs.config import Problem, load_yaml, validate_data
from mlgym.specs.tasks import parse_size_mb

DEFAULT_MAX_STARTING = 2


@dataclass(frozen=True)
class Resources:
    """What the episodes of a run may claim at once; ``None``: this machine's."""

    cpus: float | None = None
    memory_mb: int | None = None
    gpus: int = 0


@dataclass(frozen=True)
class BenchConfig:
    """A run config as read: the raw data (stored with the run) and its parsed settings."""

    data: dict
    source: str  # the file it came from
    name: str
    out: Path | None
    seeds: tuple[int, ...]
    parallel: int = 1
    max_starting: int = DEFAULT_MAX_STARTING
    resources: Resources = Resources()
    cost_limit: float | None = None  # dollars, the whole run
    total_time_limit: float | None = None  # seconds, the whole run
    executor: str = "local"
    address: str | None = None


@dataclass(frozen=True)
class PlannedEpisode:
    """One episode of a run: its key (also its folder's name), what it is, what it needs."""

    key: str
    task: str
    method: str
    seed: int
    spec: EpisodeSpec
    compute: dict = field(default_factory=dict)  # cpus, memory_mb, gpus
    uses_model: bool = False


def load_bench_config(path: str | Path) -> BenchConfig:
    """Read and check a run config; raise :class:`ConfigError` listing every problem."""
    data, positions = load_yaml(path)
    data = data if data is not None else {}
    problems = validate_data(data, "run", str(path), positions)
    if not problems:
        problems = run_problems(data, positions, str(path))
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise ConfigError(f"{path}: {count}:\n" + "\n".join(f"  {p}" for p in problems), problems)
    return parse(data, str(Path(path).resolve()))


def parse(data: dict, source: str) -> BenchConfig:
    """The settings of a run config that passed :func:`run_problems`."""
    seeds = data.get("seeds", 1)
    seeds = tuple(range(seeds)) if isinstance(seeds, int) else tuple(dict.fromkeys(seeds))
    base = Path(source).parent
    out = data.get("out")
    resources = data.get("resources") or {}
    memory = resources.get("memory")
    return BenchConfig(
        data=data, source=source, name=data.get("name") or Path(source).stem,
        out=(base / os.path.expanduser(out)).resolve() if out else None, seeds=seeds or (0,),
        parallel=int(data.get("parallel", 1)),
        max_starting=int(data.get("max_starting", DEFAULT_MAX_STARTING)),
        resources=Resources(cpus=resources.get("cpus"),
                            memory_mb=parse_size_mb(memory) if memory is not None else None,
                            gpus=int(resources.get("gpus", 0))),
        cost_limit=data.get("cost_limit"), total_time_limit=data.get("total_time_limit"),
        executor=data.get("executor", "local"), address=data.get("address"))


def run_problems(data: dict, positions: dict, file: str) -> list[Problem]:
    """What the schema cannot check: ids against the installed plugins, labels, paths."""
    from mlgym.plugins.registry import get_registry

    registry = get_registry()
    problems: list[Problem] = []

    def add(path: tuple, message: str) -> None:
        line, column = positions.get(path, positions.get((), (1, 1)))
        dotted = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
        problems.append(Problem(file, line, column, dotted, message))

    for i, item in enumerate(data.get("tasks") or []):
        try:
            if not select_tasks(item, registry):
                add(("tasks", i), f"no installed task has {_describe(item)} (see `mlgym list tasks`)")
        except UnknownIdError as exc:
            add(("tasks", i), str(exc))
    labels: dict[str, int] = {}
    for i, entry in enumerate(data.get("agents") or []):
        if entry.get("agent") not in registry.ids("agents"):
            add(("agents", i, "agent"), str(UnknownIdError("agent", str(entry.get("agent")),
                                                           registry.ids("agents"))))
        config = entry.get("config")
        if config and not (Path(file).parent / os.path.expanduser(config)).is_file():
            add(("agents", i, "config"), f"agent config {config!r} does not exist next to "
                f"{Path(file).name}")
        label = agent_label(entry)
        if label in labels:
            add(("agents", i), f"agents[{labels[label]}] has the same name {label!r}: give one "
                "of them a label")
        labels.setdefault(label, i)
    try:
        memory = (data.get("resources") or {}).get("memory")
        if memory is not None:
            parse_size_mb(memory)
    except ConfigError as exc:
        add(("resources", "memory"), str(exc))
    return problems


def _describe(item: Any) -> str:
    return f"category {item['category']!r}" if "category" in item else f"tag {item['tag']!r}"


def select_tasks(item: str | dict, registry: Any) -> list[str]:
    """The task ids one entry of ``tasks:`` names: an id, ``{category: c}`` or ``{tag: t}``."""
    if isinstance(item, str):
        return [registry.task(item).id]
    found = []
    for task_id in registry.ids("tasks"):
        task = registry.task(task_id)
        if task.category == item.get("category") or item.get("tag") in task.tags:
            found.append(task_id)
    return found


def agent_label(entry: dict) -> str:
    """The method an agent entry names: its label, else ``agent:model``, else the agent id."""
    model = entry.get("model")
    if model and model.startswith("scripted:"):
        model = "scripted"
    return entry.get("label") or method_name(entry["agent"], model)


def expand(config: BenchConfig) -> list[PlannedEpisode]:
    """Every episode of the run, in the order tasks x agents x seeds (tasks named twice once)."""
    from mlgym.plugins.registry import get_registry

    registry = get_registry()
    data, base = config.data, Path(config.source).parent
    task_ids = list(dict.fromkeys(t for item in data["tasks"] for t in select_tasks(item, registry)))
    agents = [(agent_label(entry), _agent_config(entry, data, base)) for entry in data["agents"]]
    episodes = []
    for task_id in task_ids:
        task = registry.task(task_id)
        compute = {"cpus": task.compute.cpus, "memory_mb": task.compute.memory_mb,
                   "gpus": task.compute.gpus}
        for label, agent in agents:
            for seed in config.seeds:
                spec = EpisodeSpec(task=task_id, config=agent, seed=seed,
                                   protocol=data.get("protocol", "mlgym"),
                                   backend=data.get("backend"), time_limit=data.get("time_limit"),
                                   method=label,
                                   record_changes=data.get("record_changes", True))
                key = f"{task_id}__{safe_name(label)}__seed{seed}"
                episodes.append(PlannedEpisode(key, task_id, label, seed, spec, compute,
                                               uses_model="model" in agent))
    return episodes


def _agent_config(entry: dict, data: dict, base: Path) -> dict:
    from mlgym.agents.base import agent_config

    overrides: dict[str, Any] = dict(entry.get("settings") or {})
    model = {k: entry[k] for k in ("model", "api_base") if entry.get(k)}
    if "model" in model:
        model["name"] = model.pop("model")
        if model["name"].startswith("scripted:"):
            path = Path(os.path.expanduser(model["name"].removeprefix("scripted:")))
            model["name"] = "scripted:" + str(path if path.is_absolute() else (base / path).resolve())
    if model:
        overrides["model"] = {**(overrides.get("model") or {}), **model}
    for key, value in (("max_steps", data.get("max_steps")),
                       ("cost_limit", data.get("episode_cost_limit"))):
        if value is not None:
            overrides[key] = value
    config = entry.get("config")
    path = (base / os.path.expanduser(config)).resolve() if config else None
    return agent_config(entry["agent"], path, overrides)
