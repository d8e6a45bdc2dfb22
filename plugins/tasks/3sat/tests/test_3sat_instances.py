"""The shipped instance sets: checksums, balance, known answers, and regeneration from the seed."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from mlgym_task_3sat.scripts import generate_instances as gen

PACKAGE = Path(gen.__file__).resolve().parents[1]
FOLDERS = {split: PACKAGE / folder for split, (_, folder) in gen.SPLITS.items()}


def shipped(split: str) -> dict:
    return json.loads(gzip.decompress((FOLDERS[split] / f"{split}.json.gz").read_bytes()))


@pytest.mark.parametrize("split", ["dev", "test"])
def test_manifest_checksum_matches_the_shipped_file(split):
    entry = json.loads((FOLDERS[split] / "manifest.json").read_text())["splits"][split]
    data = (FOLDERS[split] / entry["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert entry["seed"] == gen.SPLITS[split][0] and entry["num_vars"] == gen.NUM_VARS


@pytest.mark.parametrize("split", ["dev", "test"])
def test_one_hundred_instances_half_satisfiable_in_twin_pairs(split):
    instances = shipped(split)["instances"]
    assert len(instances) == 100
    assert sum(i["satisfiable"] for i in instances) == 50
    for sat, unsat in zip(instances[::2], instances[1::2], strict=True):
        assert sat["satisfiable"] and not unsat["satisfiable"]
        assert sat["clauses"][:-1] == unsat["clauses"][:-1]
        differing = [a != b for a, b in zip(sat["clauses"][-1], unsat["clauses"][-1], strict=True)]
        assert sum(differing) == 1
        assert all(len(set(map(abs, c))) == 3 for c in sat["clauses"])
        # near the 3-SAT threshold (about 4.26 clauses per variable)
        assert 3.0 * gen.NUM_VARS < len(sat["clauses"]) < 5.5 * gen.NUM_VARS


def test_dev_and_test_sets_share_no_formula():
    dev = {json.dumps(i["clauses"]) for i in shipped("dev")["instances"]}
    test = {json.dumps(i["clauses"]) for i in shipped("test")["instances"]}
    assert not dev & test


def test_test_instances_are_not_shipped_where_the_agent_can_read():
    visible = [p.name for folder in ("evaluator", "starter") for p in (PACKAGE / folder).rglob("*")]
    assert "test.json.gz" not in visible
    assert (PACKAGE / "hidden" / "test.json.gz").is_file()


@pytest.mark.parametrize("split", ["dev", "test"])
def test_known_answers_are_confirmed_by_a_cdcl_solver(split):
    from pysat.solvers import Solver  # python-sat, of the package's test extra

    for instance in shipped(split)["instances"]:
        with Solver(name="cadical153", bootstrap_with=instance["clauses"]) as solver:
            assert solver.solve() == instance["satisfiable"], instance["name"]


@pytest.mark.parametrize("split", ["dev", "test"])
def test_regenerating_from_the_seed_reproduces_the_first_pairs(split):
    import pysat  # noqa: F401  (python-sat, of the package's test extra; the generator needs it)

    seed = gen.SPLITS[split][0]
    again = gen.generate_split(split, seed, gen.NUM_VARS, pairs=4)
    assert again["instances"] == shipped(split)["instances"][:8]


def test_written_files_are_byte_identical_for_the_same_content(tmp_path):
    instance_set = {"format": gen.FORMAT, "split": "dev", "seed": 1, "instances": [
        {"name": "dev-000-sat", "num_vars": 3, "satisfiable": True, "clauses": [[1, 2, 3]]}]}
    first = gen.write_split(tmp_path, instance_set, 3).read_bytes()
    second = gen.encode(json.loads(json.dumps(instance_set)))
    assert first == second
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["splits"]["dev"]["sha256"] == hashlib.sha256(first).hexdigest()
