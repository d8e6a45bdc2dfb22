"""The file commands of bundle ``files``, run by the agent's shell inside a real sandbox.

Needs bubblewrap: the sandbox is ``bwrap`` (or ``$MLGYM_TEST_BACKEND``), and where it does not
work these tests skip -- which fails the run under CI (see ``tests/skips.yaml``).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.bwrap

TRAIN = """\
import math


def schedule(step, base_lr):
    return base_lr * math.cos(step)


def train(steps):
    lr = 0.1
    for step in range(steps):
        print(schedule(step, lr))
"""


@pytest.fixture
def box(tool_sandbox):
    return tool_sandbox(["files"])


def test_open_shows_a_1000_line_window_and_scrolling_overlaps_by_2(box):
    box.put("big.txt", "".join(f"row {i}\n" for i in range(1, 3001)))
    out = box.out("open big.txt")
    assert out.startswith("[File: /home/agent/workspace/big.txt (3000 lines total)]\n"
                          "(this is the beginning of the file)\n1:row 1\n")
    assert "1000:row 1000\n(2000 more lines below)" in out and "1001:row" not in out

    out = box.out("scroll_down")
    assert "(998 more lines above)\n999:row 999\n1000:row 1000\n1001:row 1001" in out
    assert "1998:row 1998\n(1002 more lines below)" in out

    out = box.out("scroll_down")
    assert "(1996 more lines above)\n1997:row 1997\n" in out
    out = box.out("scroll_down")  # the last window is kept full
    assert "(2000 more lines above)\n2001:row 2001\n" in out
    assert "3000:row 3000\n(this is the end of the file)" in out
    assert "Already at the end" in box.out("scroll_down")

    out = box.out("scroll_up")
    assert "(1002 more lines above)\n1003:row 1003\n" in out

    out = box.out("goto 1500")  # the line is shown in the middle of the window
    assert "(999 more lines above)\n1000:row 1000\n" in out and "1500:row 1500" in out
    out = box.out("goto 20")
    assert "1:row 1\n" in out and "Already at the beginning" in box.out("scroll_up")


def test_open_file_and_window_persist_across_steps_and_show_in_state(box):
    box.put("sub/train.py", TRAIN)
    box.out("cd sub")
    box.out("open train.py 8")
    assert box.state() == {"open_file": "/home/agent/workspace/sub/train.py",
                           "working_dir": "/home/agent/workspace/sub"}
    box.out("cd ..")
    out = box.out("goto 9")  # a later step, another working directory: still the same file
    assert "[File: /home/agent/workspace/sub/train.py (11 lines total)]" in out
    assert box.state()["working_dir"] == "/home/agent/workspace"


def test_create_makes_an_empty_file_the_agent_owns_and_opens_it(box):
    out = box.out("create models/net.py")
    assert "Created models/net.py" in out and "(0 lines total)" in out
    assert (box.workspace / "models" / "net.py").read_text() == ""
    out = box.out("insert 0\nimport torch\n\n\nclass Net(torch.nn.Module):\n    pass\n"
                  "end_of_insert")
    assert "File updated" in out
    assert (box.workspace / "models" / "net.py").read_text() == (
        "import torch\n\n\nclass Net(torch.nn.Module):\n    pass\n")
    result = box.run("create models/net.py")
    assert result.exit_code == 1 and "already exists" in result.output


def test_edit_replaces_lines_and_shows_the_result(box):
    box.put("train.py", TRAIN)
    box.out("open train.py")
    out = box.out("edit 9:9\n    lr = 0.05  # halved\n    warmup = 10\nend_of_edit")
    assert "File updated (replaced lines 9-9 with 2 lines)" in out
    assert "9:    lr = 0.05  # halved\n10:    warmup = 10" in out
    assert "    lr = 0.05  # halved\n    warmup = 10\n    for step" in (
        box.workspace / "train.py").read_text()


def test_edit_keeps_text_verbatim(box):
    box.put("notes.md", "a\nb\n")
    box.out("open notes.md")
    body = "cost is $HOME `whoami` \"quoted\" 'single' \\n\n\tindented with a tab\nEOF"
    box.out(f"edit 2:2\n{body}\nend_of_edit")
    assert (box.workspace / "notes.md").read_text() == f"a\n{body}\n"


@pytest.mark.parametrize("line, bad, error", [
    (9, "      lr = 0.1\n", "IndentationError"),
    (5, "    return base_lr * math.cos(step\n", "SyntaxError"),
    (5, "    return base_lr * maths.cos(step)\n", "undefined name 'maths'"),
])
def test_edit_that_breaks_python_is_rolled_back_with_errors_and_both_versions(box, line, bad,
                                                                              error):
    path = box.put("train.py", TRAIN)
    box.out("open train.py")
    result = box.run(f"edit {line}:{line}\n{bad}end_of_edit")
    assert result.exit_code == 1
    out = result.output
    assert "Your edit was NOT applied" in out and error in out
    proposed, original = out.split("This is the original code before your edit:")
    assert f"{line}:" + bad.rstrip("\n") in proposed
    assert f"{line}:" + TRAIN.splitlines()[line - 1] in original
    assert path.read_text() == TRAIN


def test_edit_keeps_errors_that_were_there_before(box):
    path = box.put("old.py", "x = undefined_before\ny = 1\n")
    box.out("open old.py")
    out = box.out("edit 2:2\ny = 2\nend_of_edit")
    assert "File updated" in out
    assert path.read_text() == "x = undefined_before\ny = 2\n"


def test_deleting_a_definition_used_elsewhere_is_applied_with_a_note(box):
    path = box.put("train.py", TRAIN)
    box.out("open train.py")
    out = box.out("edit 4:6\nend_of_edit")
    assert "File updated (replaced lines 4-6 with 0 lines)" in out
    assert "undefined name 'schedule'" in out and "still applied" in out
    assert "def schedule" not in path.read_text()


def test_insert_with_bad_indentation_is_rolled_back(box):
    path = box.put("train.py", TRAIN)
    box.out("open train.py")
    out = box.out("insert 3\n  import os\nend_of_insert")
    assert "Your insert was NOT applied" in out and "IndentationError" in out
    assert path.read_text() == TRAIN


@pytest.mark.parametrize("action, message", [
    ("open missing.py", "File missing.py not found"),
    ("open trian.py", "Did you mean 'train.py'?"),
    ("open data", "data is a directory, not a file"),
    ("open weights.bin", "is a binary file"),
    ("open train.py 99", "Line 99 is outside train.py, which has 11 lines"),
    ("open train.py ten", "Line number must be an integer"),
    ("open", "Usage: open <path> [<line_number>]"),
    ("scroll_down now", "takes no arguments"),
    ("search_dir", "Usage: search_dir"),
    ("search_dir lr train.py", "train.py is a file, not a directory"),
    ("find_file x.py nowhere", "Directory nowhere not found"),
    ("search_file lr data", "data is a directory"),
])
def test_misuse_gets_a_helpful_error(box, action, message):
    box.put("train.py", TRAIN)
    box.put("data/readme.txt", "data\n")
    box.put("weights.bin", b"\x00\x01\x02" * 100)
    result = box.run(action)
    assert message in result.output
    assert result.exit_code == 1


@pytest.mark.parametrize("action, message", [
    ("goto 3", "No file is open. Use `open <path>` first."),
    ("edit 1:2\nx = 1\nend_of_edit", "No file is open"),
    ("search_file lr", "No file is open and no file was given"),
])
def test_commands_on_the_open_file_need_one(box, action, message):
    assert message in box.out(action)


def test_bad_edit_ranges_and_missing_text(box):
    box.put("train.py", TRAIN)
    box.out("open train.py")
    assert "Bad line range 5:40" in box.out("edit 5:40\nx = 1\nend_of_edit")
    assert "Bad line range 6:5" in box.out("edit 6:5\nx = 1\nend_of_edit")
    assert "Line numbers must be integers" in box.out("edit a:b\nx\nend_of_edit")
    assert "Cannot insert after line 12" in box.out("insert 12\nx = 1\nend_of_insert")
    assert "No text given" in box.out("edit 2:3")  # the agent forgot the lines and the end
    assert (box.workspace / "train.py").read_text() == TRAIN


def test_searches_say_what_they_cut(box):
    for i in range(150):
        box.put(f"mod{i:03}.py", "lr = 1\n" * (i % 3 + 1))
    box.put(".git/config", "lr\n")
    out = box.out("search_dir 'lr ='")
    assert 'Found 300 matches for "lr =" in . (in 150 files):' in out
    assert "mod000.py (1 match)" in out and "mod002.py (3 matches)" in out
    assert "(50 more files with matches not shown" in out
    assert "skipped hidden and cache folders: .git" in out

    box.put("long.py", "lr = 2\n" * 130)
    out = box.out("search_file lr long.py")
    assert 'Found 130 matches for "lr" in long.py:' in out
    assert "Line 100: lr = 2" in out and "Line 101:" not in out
    assert "(30 more matching lines not shown" in out

    out = box.out("find_file 'mod1*.py'")
    assert 'Found 50 files named "mod1*.py" in .:' in out and "mod149.py" in out
    assert "No files named" in box.out("find_file nothing.txt")
    assert "No matches found" in box.out("search_dir zebra")
