"""The documented example metric package installs with pip and shows up in the CLI."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "mlgym-metric-example"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_example_package_installs_lists_computes_and_uninstalls(tmp_path, published_file):
    source = tmp_path / "mlgym-metric-example"
    shutil.copytree(EXAMPLE, source)  # build in a copy: pip leaves build files beside the source
    installed = run("-m", "pip", "install", "--no-deps", "--quiet", source)
    assert installed.returncode == 0, installed.stderr
    try:
        listing = run("-m", "mlgym", "list", "metrics")
        line = next(x for x in listing.stdout.splitlines() if x.startswith("beats-baseline"))
        assert "mlgym-metric-example" in line
        done = run("-m", "mlgym", "report", "--published", published_file, "--out", tmp_path / "r",
                   "--metrics", "beats-baseline")
        assert done.returncode == 0, done.stderr
        with (tmp_path / "r" / "beats_baseline.csv").open() as f:
            rows = {r["method"]: r for r in csv.DictReader(f)}
        # gpt-o1's best submission beat the baseline on every published task but MS-COCO
        assert rows["gpt-o1"]["tasks_won"] == "12"
        assert float(rows["gpt-o1"]["share"]) == pytest.approx(12 / 13)
        assert (tmp_path / "r" / "beats-baseline_bars.png").is_file()
    finally:
        removed = run("-m", "pip", "uninstall", "--yes", "--quiet", "mlgym-metric-example")
        assert removed.returncode == 0, removed.stderr
    listing = run("-m", "mlgym", "list", "metrics")
    assert "beats-baseline" not in listing.stdout
