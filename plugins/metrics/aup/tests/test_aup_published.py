"""The centrepiece: the published per-task scores give back the published AUP of every method."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import mlgym_metric_aup
import pytest

from mlgym.plugins import Registry, discover, new_plugin_manager
from mlgym.scoring import BUILTIN, compute_metric, load_published

CANDIDATES = [Path(os.environ.get("MLGYM_PUBLISHED_RESULTS", "/nonexistent")),
              BUILTIN["mlgym-bench"]]
TOLERANCE = 0.002  # the published inputs are rounded to 3 decimals


@pytest.fixture(scope="module")
def published_file() -> Path:
    for path in CANDIDATES:
        if path.is_file():
            return path
    raise AssertionError("mlgym-published-results.json not found; set MLGYM_PUBLISHED_RESULTS "
                         f"to its path (looked in {', '.join(map(str, CANDIDATES[1:]))})")


@pytest.fixture(scope="module")
def registry() -> Registry:
    registry = Registry(new_plugin_manager())
    registry.register(mlgym_metric_aup, name="aup")
    return registry


def test_reproduces_every_published_aup(published_file, registry):
    published = load_published(published_file)
    result = compute_metric("aup", published.records, published.tasks, {}, registry)
    ours = {row["method"]: row for row in result.tables["aup"]}
    assert set(ours) == set(published.aup), "every published method, baseline included, gets an AUP"
    for method, expected in published.aup.items():
        for kind in ("best_attempt", "best_submission"):
            got = ours[method][f"{kind}_aup"]
            assert got == pytest.approx(expected[kind], abs=TOLERANCE), (method, kind, got)


def test_published_grid_and_comparator_set_are_stated(published_file, registry):
    published = load_published(published_file)
    result = compute_metric("aup", published.records, published.tasks, {}, registry)
    # Blotto's worst feasible best-attempt ratio 0.576 / 0.023 = 25.04; x1.05 = 26.3 -> ceil 27;
    # log10 27 = 1.43 -> rounded up to 1.5
    assert result.meta["tau_max"] == 1.5
    assert result.meta["grid_points"] == 500
    comparator = next(n for n in result.notes if n.startswith("Comparator set"))
    assert all(m in comparator for m in published.aup)
    assert "13 tasks" in comparator


def test_leaving_out_the_best_method_changes_the_others(published_file, registry):
    published = load_published(published_file)
    full = compute_metric("aup", published.records, published.tasks, {}, registry)
    fewer = [r for r in published.records if r.method != "gpt-o1"]
    part = compute_metric("aup", fewer, published.tasks, {}, registry)
    before = {r["method"]: r["best_submission_aup"] for r in full.tables["aup"]}
    after = {r["method"]: r["best_submission_aup"] for r in part.tables["aup"]}
    assert "gpt-o1" not in after
    # without the best method of several tasks every other method is closer to the best there
    assert all(after[m] >= before[m] - 1e-12 for m in after)
    assert sum(after[m] - before[m] > 0.003 for m in after) >= 10


def test_aup_plugin_is_discovered_from_its_entry_point():
    registry = discover()
    assert "aup" in registry.ids("metrics")
    assert registry.entry("metrics", "aup").distribution == "mlgym-metric-aup"


# sha256 of the reference file of published figures (mlgym-published-results.json, taken from the
# MLGym authors' results tables), as it was when the core's copy was made
REFERENCE_SHA256 = "3c4be2ab5be76c8754cfb52526d2d85aa480dc5a40dff6aa2c4b99c660048667"


def test_shipped_figures_are_the_reference_file():
    """The copy shipped with the core (``--published mlgym-bench``) is the reference file."""
    shipped = BUILTIN["mlgym-bench"].read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == REFERENCE_SHA256, (
        f"{BUILTIN['mlgym-bench']} is not the reference file of published figures")
