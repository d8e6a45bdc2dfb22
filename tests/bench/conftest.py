"""Fixtures of the benchmark-run tests; the helpers they share are in ``benchkit.py``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "agents"))  # fake_provider


@pytest.fixture
def bench_env(tmp_path) -> dict:
    """The environment of a CLI run: a results folder of its own."""
    return {**os.environ, "MLGYM_RESULTS_DIR": str(tmp_path / "results"), "PYTHONUNBUFFERED": "1"}
