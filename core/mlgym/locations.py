"""Where MLGym keeps things: platformdirs locations, overridable by environment and flags.

Nothing is written into the source tree or the current directory unless a path is given.

| what | environment variable | default |
|---|---|---|
| cache (datasets, task environments, images) | ``MLGYM_CACHE_DIR`` | ``platformdirs.user_cache_dir("mlgym")`` |
| results (trajectories, result records) | ``MLGYM_RESULTS_DIR`` | ``platformdirs.user_data_dir("mlgym")/results`` |
| data (materialised datasets) | ``MLGYM_DATA_DIR`` | ``<cache>/datasets`` |
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "mlgym"


def _from_env(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def cache_dir() -> Path:
    return _from_env("MLGYM_CACHE_DIR", Path(platformdirs.user_cache_dir(APP)))


def results_dir() -> Path:
    return _from_env("MLGYM_RESULTS_DIR", Path(platformdirs.user_data_dir(APP)) / "results")


def data_dir() -> Path:
    return _from_env("MLGYM_DATA_DIR", cache_dir() / "datasets")


def environments_dir() -> Path:
    """Cached task Python environments, keyed by content hash."""
    return cache_dir() / "environments"


def ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
