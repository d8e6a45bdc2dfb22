"""The generated YAML reference in docs/ matches the shipped schemas."""

from pathlib import Path

from mlgym.specs.schemadoc import render

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_schema_reference_is_current():
    assert (DOCS / "schemas.md").read_text() == render(), (
        "docs/schemas.md is stale: run `python -m mlgym.specs.schemadoc > docs/schemas.md`")
