"""Episodes as Ray tasks: ``mlgym bench run --executor ray [--address HOST:PORT]``.

Each episode is one Ray task asking for its task's ``compute`` needs as Ray resources (CPUs,
memory, GPUs), so Ray places it on a node that has them and never runs more than fit. The task
runs :func:`~mlgym.agents.launch.run_episode_from_spec` in a Ray worker and returns the
trajectory; the scheduler records it in the same store as the local executor does, and writes
the trajectory into the run's folder when the node wrote it elsewhere. The run's folder (with
its cost ledger) must be reachable at the same path from every node for the total cost limit
to hold across nodes; a local cluster always qualifies.

Ray is an optional extra (``pip install 'mlgym-core[ray]'``), imported when this executor is.
"""

from __future__ import annotations

from typing import Any

from mlgym.agents.launch import EpisodeSpec
from mlgym.bench.config import Resources
from mlgym.bench.executors import Event
from mlgym.errors import ConfigError

try:
    import ray
except ImportError:  # pragma: no cover - said when the executor is asked for
    ray = None


def _run_episode(spec: dict) -> dict:
    """The body of a Ray task: run the episode, return its trajectory."""
    from mlgym.agents.launch import run_episode_from_spec

    return run_episode_from_spec(EpisodeSpec.from_dict(spec)).trajectory


class RayExecutor:
    """Ray tasks on the cluster at ``address`` (default: a local Ray started for the run)."""

    name = "ray"

    def __init__(self, address: str | None = None):
        if ray is None:
            raise ConfigError("--executor ray needs Ray: pip install 'mlgym-core[ray]' (or "
                              "pip install ray)")
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        self._remote = ray.remote(_run_episode)
        self.refs: dict[Any, str] = {}  # object ref -> episode key
        self.started: list[Event] = []

    def capacity(self) -> Resources:
        have = ray.cluster_resources()
        memory = have.get("memory")
        return Resources(cpus=have.get("CPU", 0.0),
                         memory_mb=int(memory // 2**20) if memory else None,
                         gpus=int(have.get("GPU", 0)))

    def launch(self, key: str, spec: EpisodeSpec, compute: dict) -> str:
        options: dict[str, Any] = {"num_cpus": float(compute.get("cpus") or 1),
                                   "max_retries": 0, "name": f"mlgym-episode:{key}"}
        if compute.get("memory_mb"):
            options["memory"] = int(compute["memory_mb"]) * 2**20
        if compute.get("gpus"):
            options["num_gpus"] = int(compute["gpus"])
        ref = self._remote.options(**options).remote(spec.to_dict())
        self.refs[ref] = key
        self.started.append(Event(key, "started"))  # Ray queues it: its sandbox starts there
        return f"ray:{ref.hex()}"

    def poll(self, timeout: float) -> list[Event]:
        events, self.started = self.started, []
        if not self.refs:
            return events
        ready, _ = ray.wait(list(self.refs), num_returns=len(self.refs), timeout=timeout)
        for ref in ready:
            key = self.refs.pop(ref)
            try:
                events.append(Event(key, "finished", trajectory=ray.get(ref)))
            except ray.exceptions.TaskCancelledError:
                events.append(Event(key, "finished", trajectory=_interrupted(), error="cancelled"))
            except Exception as exc:  # the task raised: the episode could not be run
                events.append(Event(key, "finished", error=f"{type(exc).__name__}: {exc}"[:2000]))
        return events

    def interrupt(self) -> None:
        for ref in self.refs:
            ray.cancel(ref)

    def kill(self) -> None:
        for ref in self.refs:
            ray.cancel(ref, force=True)

    def close(self) -> None:
        self.kill()
        self.refs.clear()


def _interrupted() -> dict:
    """A stand-in for the trajectory of a task cancelled before it ran."""
    return {"exit_reason": "interrupted", "totals": {"cost": 0.0}}
