"""Gymnasium registration: every installed task becomes the environment ``mlgym/<task id>``.

Gymnasium 1.x has no plugin discovery of its own (the ``gymnasium.envs`` entry-point group of
gym 0.2x is gone): environments exist once some import has called ``gymnasium.register``.
``import mlgym`` arranges that through :func:`register_when_gymnasium_loads`, without importing
gymnasium or any plugin itself, so ``mlgym --help`` stays fast::

    import gymnasium, mlgym
    env = gymnasium.make("mlgym/prisoners-dilemma", backend="bwrap", protocol="strict")

``gymnasium.make("mlgym:mlgym/<id>")`` works without importing mlgym first (gymnasium imports the
module named before the colon).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

NAMESPACE = "mlgym"
ENTRY_POINT = "mlgym.episode.env:MLGymEnv"


def env_id(task_id: str) -> str:
    """The Gymnasium id of a task."""
    return f"{NAMESPACE}/{task_id}"


def register_envs(task_ids: list[str] | None = None) -> list[str]:
    """Register ``task_ids`` (default: every installed task) with Gymnasium; return the ids.

    Idempotent: a task already registered is left as it is. Call it again after registering
    tasks by hand (``get_registry().register(...)``) to make them available to
    ``gymnasium.make``.
    """
    import gymnasium

    from mlgym.plugins.registry import get_registry

    if task_ids is None:
        task_ids = get_registry().ids("tasks")
    registered = []
    for task_id in task_ids:
        gym_id = env_id(task_id)
        if gym_id not in gymnasium.registry:
            # max_episode_steps stays None: the environment truncates by its own step budget
            # (and auto-submits), which a TimeLimit wrapper would pre-empt.
            gymnasium.register(id=gym_id, entry_point=ENTRY_POINT, kwargs={"task": task_id})
        registered.append(gym_id)
    return registered


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs :func:`register_envs` right after ``gymnasium`` finishes importing."""

    def find_spec(self, name, path=None, target=None):
        if name != "gymnasium":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            _register_quietly()

        spec.loader.exec_module = exec_module
        return spec


def _register_quietly() -> None:
    from mlgym.plugins.registry import get_registry, when_complete

    try:
        register_envs()
        if get_registry().unfinished:  # `import gymnasium` then a plugin that imports mlgym:
            when_complete(lambda registry: register_envs(registry.ids("tasks")))  # its tasks later
    except Exception as exc:  # a broken plugin must not break `import gymnasium`
        import warnings

        warnings.warn(f"MLGym could not register its tasks with gymnasium: {exc}", stacklevel=2)


def register_when_gymnasium_loads() -> None:
    """Register every task now if gymnasium is imported, else as soon as it is."""
    if "gymnasium" in sys.modules:
        _register_quietly()
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())
