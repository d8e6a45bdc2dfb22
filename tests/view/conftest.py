"""Shared pieces of the viewer's tests: the recorded episodes (see ``viewkit``), made once per
session, and the screenshot folder."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from viewkit import IMPROVE, OLD_EPISODE, run_episode_to, scripted  # noqa: E402

from mlgym.agents import agent_config  # noqa: E402

_made: dict[str, Path] = {}


@pytest.fixture
def results(mlgym_fixtures, require_backend, tmp_path_factory) -> Path:
    """A results folder: ``improve/`` (scripted react agent), ``baseline/`` (baseline agent),
    ``old/`` (a version 1 trajectory). Made once per test session."""
    if "results" not in _made:
        backend = require_backend("bwrap")
        root = tmp_path_factory.mktemp("results")
        run_episode_to(root / "improve", scripted(root / "script", IMPROVE), backend,
                       method="react:scripted")
        baseline = agent_config("baseline", None, {"options": {"commands": ["python predict.py"]}})
        run_episode_to(root / "baseline", baseline, backend)
        shutil.copytree(OLD_EPISODE, root / "old")
        _made["results"] = root
    return _made["results"]


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where the browser test saves its screenshots: the test's folder, or the folder
    ``MLGYM_VIEW_SCREENSHOTS`` names (``docs/images`` to refresh the docs' pictures)."""
    folder = Path(os.environ.get("MLGYM_VIEW_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
