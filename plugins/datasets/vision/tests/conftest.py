from __future__ import annotations

import pytest


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """A fresh MLGym data folder, a hub mirror folder and a private Hugging Face cache."""
    monkeypatch.setenv("MLGYM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLGYM_HF_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing here may reach for the real hub
    return tmp_path
