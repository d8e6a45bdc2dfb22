"""The coco-captioning task end to end on a small image-caption set in the hub's exact format."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from collections import Counter

import pyarrow.parquet as pq
import pytest
from mlgym_datasets_vision import testing as hub

from mlgym.episode.datasets import hidden_folder, materialise
from mlgym.plugins import get_registry
from mlgym.testing import check_task_env, require_backend, run_evaluator


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """``lmms-lab/COCO-Caption`` as the hub serves it (60 images), materialised by MLGym."""
    root = tmp_path_factory.mktemp("coco")
    hub.coco_repo(root / "mirror", hub.coco_rows(60, seed=20))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLGYM_DATA_DIR", str(root / "data"))
        patch.setenv("MLGYM_HF_MIRROR", str(root / "mirror"))
        patch.setenv("HF_HOME", str(root / "hf"))
        patch.setenv("HF_HUB_OFFLINE", "1")
        folder = materialise(get_registry().get("datasets", "coco-captions"))
        refs = json.loads((hidden_folder(folder) / "test_captions.json").read_text())
        val = pq.read_table(folder / "val.parquet", columns=["id", "captions"]).to_pydict()
        yield {"root": root / "data", "test": refs,
               "val": dict(zip(val["id"], val["captions"], strict=True))}


def submission(captions: dict[str, str]) -> dict[str, str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "caption"])
    writer.writerows(captions.items())
    return {"submission.csv": out.getvalue()}


def independent_bleu(hypotheses: list[str], references: list[list[str]]) -> float:
    """Papineni et al.'s corpus BLEU-4 written out: clipped n-gram precisions over the corpus,
    geometric mean, brevity penalty from the closest reference length (for text that needs no
    tokenisation beyond splitting on spaces and no smoothing: every order has a match)."""
    matches, totals = [0] * 4, [0] * 4
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references, strict=True):
        words = hyp.split()
        ref_words = [r.split() for r in refs]
        hyp_len += len(words)
        ref_len += min((abs(len(r) - len(words)), len(r)) for r in ref_words)[1]
        for n in range(1, 5):
            grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
            best: Counter = Counter()
            for r in ref_words:
                best |= Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            matches[n - 1] += sum(min(c, best[g]) for g, c in grams.items())
            totals[n - 1] += max(len(words) - n + 1, 0)
    precision = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / 4
    penalty = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return penalty * math.exp(precision)


def test_only_the_test_references_are_hidden(data):
    assert data["test"] and data["val"]
    public = sorted(p.name for p in (data["root"] / "coco-captions").iterdir())
    assert public == [".mlgym-dataset.json", "test.parquet", "train.parquet", "val.parquet"]


def test_bleu_matches_an_independent_computation(data):
    order = sorted(data["test"])
    # the references as sacrebleu's 13a tokenisation sees them: the full stop split off
    refs = [[" ".join(c.replace(".", " .").split()) for c in data["test"][i]] for i in order]
    captions = {}
    for k, (image, rs) in enumerate(zip(order, refs, strict=True)):
        words = rs[0].lower().split()  # mixed case: the capitalised first word no longer matches
        captions[image] = " ".join(words if k % 2 else words[:3] + ["a", "thing"] + words[3:5])
    expected = independent_bleu([captions[i] for i in order], refs)
    scored = run_evaluator("coco-captioning", submission(captions), data_dir=data["root"])
    assert scored.score() == pytest.approx(expected, abs=1e-6)
    assert 0 < scored.score() < 1
    assert "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp" in scored.stderr


def test_perfect_captions_score_one_and_dev_scores_the_val_images(data):
    perfect = {i: r[0] for i, r in data["test"].items()}
    assert run_evaluator("coco-captioning", submission(perfect),
                         data_dir=data["root"]).score() == pytest.approx(1.0)
    both = perfect | {i: r[1] for i, r in data["val"].items()}
    assert run_evaluator("coco-captioning", submission(both), split="dev",
                         data_dir=data["root"]).score() == pytest.approx(1.0)
    run = run_evaluator("coco-captioning", submission(perfect), split="dev", data_dir=data["root"])
    assert run.scores is None and "lacks" in run.failure()


def test_the_environment_passes_check_env(data):
    """Gymnasium's checker on the task's environment over the hub-format data: nothing raised,
    no warning but the one that no render fps is declared (MLGym does not render)."""
    check_task_env("coco-captioning")


@pytest.mark.parametrize(("case", "expected"), [
    ("missing", "lacks 1 of the"),
    ("extra", "line {n}: unknown id 'COCO_val2014_999999999999'"),
    ("duplicate", "line 3: id {first} appears more than once"),
    ("empty", "line 2: the caption of {first} is empty"),
    ("columns", "line 2: expected 2 values (id,caption), found 3"),
])
def test_a_bad_submission_fails_naming_the_first_bad_row(data, case, expected):
    ids = sorted(data["test"])
    rows = [[i, "a dog on the grass"] for i in ids]
    if case == "missing":
        rows.pop()
    elif case == "extra":
        rows.append(["COCO_val2014_999999999999", "a cat"])
    elif case == "duplicate":
        rows.insert(1, [ids[0], "again"])
    elif case == "empty":
        rows[0][1] = "   "
    elif case == "columns":
        rows[0].append("more")
    out = io.StringIO()
    csv.writer(out).writerows([["id", "caption"], *rows])
    run = run_evaluator("coco-captioning", {"submission.csv": out.getvalue()},
                        data_dir=data["root"])
    assert run.scores is None
    assert expected.format(n=len(ids) + 2, first=ids[0]) in run.failure()


@pytest.mark.slow
@pytest.mark.bwrap
def test_the_baseline_agent_trains_and_submits_on_bwrap(data, tmp_path):
    require_backend("bwrap")
    config = tmp_path / "agent.yaml"
    config.write_text(json.dumps({"agent": "baseline",
                                  "options": {"commands": ["long python train.py --epochs 1"]}}))
    out = tmp_path / "episode"
    run = subprocess.run([sys.executable, "-m", "mlgym", "run", "--task", "coco-captioning",
                          "--agent", "baseline", "--config", str(config), "--backend", "bwrap",
                          "--out", str(out), "--quiet"], capture_output=True, text=True,
                         timeout=1500)
    assert run.returncode == 0, run.stdout + run.stderr
    record = json.loads((out / "result.json").read_text())
    assert record["exit_reason"] == "submitted" and record["submission"]["ok"], record
    assert 0 <= record["submission"]["scores"]["bleu"] <= 1
