"""The evaluator's view of the workspace: a snapshot of the declared files, regular files only."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from mlgym.episode.submission import SubmissionError, snapshot


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    (folder / "model").mkdir(parents=True)
    (folder / "strategy.py").write_text("def row_strategy(history):\n    return 0\n")
    (folder / "model" / "weights.bin").write_bytes(b"\x00" * 100)
    (folder / "model" / "inner").mkdir()
    (folder / "model" / "inner" / "config.json").write_text("{}")
    return folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Files outside the workspace, where the hidden data could be."""
    folder = tmp_path / "hidden"
    folder.mkdir()
    (folder / "answers.txt").write_text("secret\n")
    return folder


def test_a_regular_file_is_copied(workspace, tmp_path):
    copied = snapshot(workspace, ["strategy.py"], tmp_path / "out")
    assert copied == ["strategy.py"]
    assert (tmp_path / "out" / "strategy.py").read_text() == (workspace / "strategy.py").read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["strategy.py"]


def test_a_missing_file_is_left_out(workspace, tmp_path):
    assert snapshot(workspace, ["answer.txt", "strategy.py"], tmp_path / "out") == ["strategy.py"]
    assert not (tmp_path / "out" / "answer.txt").exists()


def test_a_symlink_to_a_file_is_refused(workspace, outside, tmp_path):
    (workspace / "strategy.py").unlink()
    (workspace / "strategy.py").symlink_to(outside / "answers.txt")
    with pytest.raises(SubmissionError, match="strategy.py is a symbolic link"):
        snapshot(workspace, ["strategy.py"], tmp_path / "out")
    assert not (tmp_path / "out" / "strategy.py").exists()


def test_a_symlinked_folder_on_the_way_is_refused(workspace, outside, tmp_path):
    (outside / "model").mkdir()
    (outside / "model" / "weights.bin").write_text("secret")
    (workspace / "linked").symlink_to(outside / "model", target_is_directory=True)
    with pytest.raises(SubmissionError, match="linked is a symbolic link or not a folder"):
        snapshot(workspace, ["linked/weights.bin"], tmp_path / "out")
    with pytest.raises(SubmissionError, match="symbolic link"):  # and as a declared folder
        snapshot(workspace, ["linked"], tmp_path / "out2")


def test_a_hard_link_is_refused(workspace, outside, tmp_path):
    (workspace / "answers.txt").hardlink_to(outside / "answers.txt")
    with pytest.raises(SubmissionError, match="answers.txt has 2 hard links"):
        snapshot(workspace, ["answers.txt"], tmp_path / "out")


def test_a_fifo_is_refused_without_blocking(workspace, tmp_path):
    os.mkfifo(workspace / "pipe")
    with pytest.raises(SubmissionError, match="pipe is not a regular file .it is a FIFO"):
        snapshot(workspace, ["pipe"], tmp_path / "out")


def test_an_oversize_submission_is_refused(workspace, tmp_path):
    (workspace / "big.bin").write_bytes(b"x" * 1000)
    with pytest.raises(SubmissionError, match="big.bin is 1000 bytes, more than the 999"):
        snapshot(workspace, ["big.bin"], tmp_path / "out", max_bytes=999)
    # the limit is on the total
    with pytest.raises(SubmissionError, match="more than the 1050 bytes"):
        snapshot(workspace, ["model", "big.bin"], tmp_path / "out2", max_bytes=1050)
    assert snapshot(workspace, ["big.bin"], tmp_path / "out3", max_bytes=1000) == ["big.bin"]


def test_a_file_that_grows_past_the_limit_while_copied_is_refused(workspace, tmp_path):
    big = workspace / "growing.bin"
    big.write_bytes(b"x" * (4 << 20))
    stop = threading.Event()

    def grow():
        with open(big, "ab") as f:
            while not stop.is_set():
                f.write(b"x" * (1 << 20))
                f.flush()

    writer = threading.Thread(target=grow)
    writer.start()
    try:
        while big.stat().st_size < (6 << 20):  # the growth is under way (the writer ran)
            stop.wait(0.01)
        # the size checked when the file is opened fits; what is read does not
        with pytest.raises(SubmissionError, match="growing.bin is (larger than|[0-9]+ bytes, "
                                                  "more than) the"):
            snapshot(workspace, ["growing.bin"], tmp_path / "out", max_bytes=8 << 20)
    finally:
        stop.set()
        writer.join()


def test_entries_outside_the_workspace_are_refused(workspace, tmp_path):
    for entry in ["../hidden/answers.txt", "/etc/passwd", "model/../../x", ""]:
        with pytest.raises(SubmissionError, match="not a path inside the workspace"):
            snapshot(workspace, [entry], tmp_path / "out")


def test_a_declared_folder_copies_its_regular_files_only(workspace, outside, tmp_path):
    (workspace / "model" / "link.txt").symlink_to(outside / "answers.txt")
    os.mkfifo(workspace / "model" / "pipe")
    (workspace / "model" / "folder-link").symlink_to(outside, target_is_directory=True)
    copied = snapshot(workspace, ["model"], tmp_path / "out")
    assert copied == ["model/inner/config.json", "model/weights.bin"]
    out = tmp_path / "out" / "model"
    assert (out / "weights.bin").read_bytes() == b"\x00" * 100
    assert (out / "inner" / "config.json").read_text() == "{}"
    for left_out in ("link.txt", "pipe", "folder-link"):
        assert not os.path.lexists(out / left_out)
    assert not list(tmp_path.joinpath("out").rglob("answers.txt"))


def test_a_hard_link_inside_a_declared_folder_is_refused(workspace, outside, tmp_path):
    (workspace / "model" / "inner" / "hard.txt").hardlink_to(outside / "answers.txt")
    with pytest.raises(SubmissionError, match="model/inner/hard.txt has 2 hard links"):
        snapshot(workspace, ["model"], tmp_path / "out")
