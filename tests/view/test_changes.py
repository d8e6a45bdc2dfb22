"""Workspace changes recorded per step: what a reader of a trajectory sees of each file."""

from __future__ import annotations

import json
import os

import pytest
from viewkit import IMPROVE, run_episode_to, scripted

from mlgym.agents import trajectory
from mlgym.episode.changes import ChangeLimits, ChangeRecorder
from mlgym.errors import ConfigError
from mlgym.specs.config import validate_data

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def by_path(record: dict) -> dict[str, dict]:
    return {f["path"]: f for f in record["files"]}


def test_text_edits_additions_and_deletions_give_unified_diffs(tmp_path):
    (tmp_path / "train.py").write_text("lr = 0.1\nepochs = 3\n")
    (tmp_path / "old.txt").write_text("bye\n")
    recorder = ChangeRecorder(tmp_path)
    recorder.start()
    assert recorder.collect()["files"] == []
    (tmp_path / "train.py").write_text("lr = 0.01\nepochs = 3\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "new.py").write_text("print(1)")
    (tmp_path / "old.txt").unlink()
    files = by_path(recorder.collect())
    assert sorted(files) == ["old.txt", "sub/new.py", "train.py"]
    assert files["train.py"]["change"] == "modified"
    assert "-lr = 0.1\n+lr = 0.01\n" in files["train.py"]["diff"]
    assert files["sub/new.py"]["diff"].startswith("--- /dev/null\n+++ b/sub/new.py\n")
    assert "\\ No newline at end of file" in files["sub/new.py"]["diff"]
    assert files["old.txt"] == {"path": "old.txt", "change": "deleted", "size": None,
                                "diff": "--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n",
                                "note": None}
    assert recorder.collect()["files"] == []  # nothing new since


def test_touching_a_file_without_changing_it_records_nothing(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    recorder = ChangeRecorder(tmp_path)
    recorder.start()
    os.utime(tmp_path / "a.py", ns=(1, 1))
    assert recorder.collect()["files"] == []


def test_binary_and_large_files_are_named_with_their_size(tmp_path):
    recorder = ChangeRecorder(tmp_path, limits=ChangeLimits(file_bytes=1000))
    recorder.start()
    (tmp_path / "model.pt").write_bytes(b"\x00\x01" * 300)
    (tmp_path / "big.csv").write_text("1,2\n" * 1000)
    files = by_path(recorder.collect())
    assert files["model.pt"] == {"path": "model.pt", "change": "added", "size": 600,
                                 "diff": None, "note": "binary"}
    assert files["big.csv"]["size"] == 4000 and files["big.csv"]["diff"] is None
    assert files["big.csv"]["note"] == "larger than 1000 bytes"


def test_a_link_is_named_never_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden label 42\n")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    recorder = ChangeRecorder(workspace)
    recorder.start()
    (workspace / "labels.csv").symlink_to(secret)
    record = recorder.collect()
    assert by_path(record)["labels.csv"]["note"] == f"symbolic link to {secret}"
    assert "hidden label" not in json.dumps(record)


def test_a_linked_folder_is_not_entered_and_a_hard_link_not_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "labels.csv").write_text("hidden label 42\n")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    recorder = ChangeRecorder(workspace)
    recorder.start()
    (workspace / "data").symlink_to(outside)
    os.link(outside / "labels.csv", workspace / "copy.csv")
    record = recorder.collect()
    files = by_path(record)
    assert sorted(files) == ["copy.csv", "data"]
    assert files["data"]["note"] == f"symbolic link to {outside}"
    assert files["copy.csv"]["diff"] is None
    assert files["copy.csv"]["note"] == "not read: gone, special, or one of several hard links"
    assert "hidden label" not in json.dumps(record)


def test_mounted_folders_and_caches_are_skipped(tmp_path):
    (tmp_path / "data" / "ds").mkdir(parents=True)
    recorder = ChangeRecorder(tmp_path, skip=["data/ds"])
    recorder.start()
    (tmp_path / "data" / "ds" / "train.csv").write_text("a\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.pyc").write_bytes(b"\0")
    (tmp_path / "notes.md").write_text("hi\n")
    assert sorted(by_path(recorder.collect())) == ["notes.md"]


def test_a_step_holds_at_most_its_limit_of_diff_text(tmp_path):
    recorder = ChangeRecorder(tmp_path, limits=ChangeLimits(step_chars=300))
    recorder.start()
    for name in "abc":
        (tmp_path / f"{name}.txt").write_text("line\n" * 30)
    record = recorder.collect()
    files = by_path(record)
    assert record["cut"] is True
    assert files["a.txt"]["diff"] is not None
    assert files["c.txt"]["diff"] is None
    assert files["c.txt"]["note"] == "diff left out: the step's limit was reached"
    assert sum(len(f["diff"] or "") for f in record["files"]) <= 300


def test_more_files_than_the_limit_make_the_record_incomplete(tmp_path):
    for n in range(5):
        (tmp_path / f"{n}.txt").write_text("x\n")
    recorder = ChangeRecorder(tmp_path, limits=ChangeLimits(files=3))
    recorder.start()
    record = recorder.collect()
    assert record["incomplete"] is True and record["files"] == []  # none known to be deleted


def test_an_episode_records_each_steps_changes_in_its_trajectory(results):
    data = trajectory.load(results / "improve")
    assert data["schema_version"] == 2
    changes = [s["changes"] for s in data["steps"]]
    assert [sorted(by_path(c)) for c in changes] == [[], ["predict.py"], ["predictions.csv"], [], []]
    assert "+THRESHOLD = 45\n" in changes[1]["files"][0]["diff"]
    added = changes[2]["files"][0]
    assert added["change"] == "added" and added["size"] > 0 and "+id,label" in added["diff"]


def test_recording_can_be_switched_off(mlgym_fixtures, require_backend, tmp_path):
    data = run_episode_to(tmp_path / "out", scripted(tmp_path, IMPROVE[1:3] + ["```\nsubmit\n```"]),
                          require_backend("bwrap"), record_changes=False)
    assert data["exit_reason"] == "submitted"
    assert all("changes" not in s for s in data["steps"])
    trajectory.load(tmp_path / "out")


def test_run_files_check_the_switch():
    run = {"tasks": ["fixture-threshold"], "agents": [{"agent": "baseline"}]}
    assert validate_data({**run, "record_changes": False}, "run", "run.yaml") == []
    problems = validate_data({**run, "record_changes": "no"}, "run", "run.yaml")
    assert [p.path for p in problems] == ["record_changes"]


def test_version_1_trajectories_are_read_and_unknown_versions_refused(results, tmp_path):
    old = trajectory.load(results / "old")
    assert old["schema_version"] == 1 and len(old["steps"]) == 5
    assert all("changes" not in s for s in old["steps"])
    future = dict(old, schema_version=99)
    (tmp_path / "trajectory.json").write_text(json.dumps(future))
    with pytest.raises(ConfigError, match="schema_version 99 is not one this MLGym reads"):
        trajectory.load(tmp_path)
