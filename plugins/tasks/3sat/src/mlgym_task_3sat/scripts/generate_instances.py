"""Generate the 3sat instance sets reproducibly from a seed.

Pairs are made in the manner of Selsam et al. (2018, "Learning a SAT Solver from Single-Bit
Supervision"), with clauses of exactly three literals: random clauses over distinct variables are
added one by one until the formula becomes unsatisfiable; that formula is the UNSAT twin, and
flipping one literal of its last clause gives the SAT twin. (Every model of the formula without the
last clause falsifies all three literals of that clause, so negating one of them keeps a model.)

A real CDCL solver (MiniSat 2.2 through the ``python-sat`` package, solved incrementally after each
clause) decides satisfiability during generation; the result does not depend on which solver is
used, only on Python's ``random.Random``, so a seed always gives the same instances.

    python -m mlgym_task_3sat.scripts.generate_instances            # rewrite the shipped sets
    python -m mlgym_task_3sat.scripts.generate_instances --check    # regenerate and compare
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
FORMAT = "mlgym-3sat-instances/1"
NUM_VARS = 58
PAIRS = 50
SPLITS = {  # split -> (seed, folder inside the package)
    "dev": (20180302, "evaluator/instances"),
    "test": (20250219, "hidden"),
}


def random_clause(rng: random.Random, num_vars: int) -> list[int]:
    """Three distinct variables, each negated with probability 1/2."""
    return [v if rng.random() < 0.5 else -v for v in rng.sample(range(1, num_vars + 1), 3)]


def generate_pair(rng: random.Random, num_vars: int) -> tuple[list[list[int]], list[list[int]]]:
    """(SAT twin, UNSAT twin): two formulas that differ in one literal of their last clause."""
    from pysat.solvers import Solver

    clauses: list[list[int]] = []
    with Solver(name="minisat22") as solver:
        while True:
            clause = random_clause(rng, num_vars)
            clauses.append(clause)
            solver.add_clause(clause)
            if not solver.solve():
                break
    satisfiable = [list(c) for c in clauses]
    flipped = rng.randrange(3)
    satisfiable[-1][flipped] = -satisfiable[-1][flipped]
    return satisfiable, clauses


def generate_split(split: str, seed: int, num_vars: int = NUM_VARS, pairs: int = PAIRS) -> dict:
    """The instance set of ``split``: ``pairs`` SAT/UNSAT pairs, the SAT twin first."""
    rng = random.Random(seed)
    instances = []
    for pair in range(pairs):
        for formula, satisfiable in zip(generate_pair(rng, num_vars), (True, False), strict=True):
            name = f"{split}-{pair:03d}-{'sat' if satisfiable else 'unsat'}"
            instances.append({"name": name, "num_vars": num_vars, "satisfiable": satisfiable,
                              "clauses": formula})
    return {"format": FORMAT, "split": split, "seed": seed, "instances": instances}


def encode(instance_set: dict) -> bytes:
    """Deterministic gzip bytes (no timestamp) of an instance set."""
    text = json.dumps(instance_set, separators=(",", ":")).encode()
    return gzip.compress(text, compresslevel=9, mtime=0)


def write_split(folder: Path, instance_set: dict, num_vars: int) -> Path:
    """Write ``<split>.json.gz`` and its entry in ``manifest.json`` into ``folder``."""
    split = instance_set["split"]
    path = folder / f"{split}.json.gz"
    data = encode(instance_set)
    path.write_bytes(data)
    manifest = {"generator": "mlgym_task_3sat/scripts/generate_instances.py", "splits": {
        split: {"file": path.name, "sha256": hashlib.sha256(data).hexdigest(),
                "seed": instance_set["seed"], "num_vars": num_vars,
                "instances": len(instance_set["instances"])}}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="regenerate in memory and compare with the shipped files")
    parser.add_argument("--num-vars", type=int, default=NUM_VARS)
    parser.add_argument("--pairs", type=int, default=PAIRS)
    args = parser.parse_args(argv)
    status = 0
    for split, (seed, folder) in SPLITS.items():
        instance_set = generate_split(split, seed, args.num_vars, args.pairs)
        target = PACKAGE / folder
        if args.check:
            shipped = json.loads(gzip.decompress((target / f"{split}.json.gz").read_bytes()))
            same = shipped == instance_set
            status |= not same
            print(f"{split}: {'identical' if same else 'DIFFERENT'} to {target}")
        else:
            path = write_split(target, instance_set, args.num_vars)
            print(f"{split}: wrote {len(instance_set['instances'])} instances to {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
