"""Broken YAML files: every error names the file, line, path inside the document and expectation."""

from __future__ import annotations

import textwrap

import pytest

from mlgym.errors import ConfigError
from mlgym.specs.config import load_config, load_yaml, validate_data

VALID_TASK = """\
schema_version: 1
id: demo
name: Demo
description: Write a number into answer.txt.
evaluator:
  command: [python, evaluate.py]
metrics:
  - name: error
    direction: minimize
    primary: true
baseline:
  error: 42.0
"""

# (name, schema, yaml text, expected (line, path, fragment of message) for each problem)
BROKEN = [
    ("unknown key with suggestion", "task", VALID_TASK.replace("baseline:", "baselin:"),
     [(11, "baselin", "did you mean 'baseline'")]),
    ("bad enum", "task", VALID_TASK.replace("direction: minimize", "direction: min"),
     [(9, "metrics[0].direction", "expected one of 'maximize', 'minimize'; found \"min\"")]),
    ("wrong type", "task", VALID_TASK.replace("error: 42.0", "error: lots"),
     [(12, "baseline.error", "expected number or null; found str \"lots\"")]),
    ("missing required", "task", VALID_TASK.replace("name: Demo\n", ""),
     [(1, "", "missing required key 'name'")]),
    ("several at once", "task",
     VALID_TASK.replace("name: Demo", "nmae: Demo").replace("primary: true", "primary: yes please"),
     [(3, "nmae", "did you mean 'name'"), (1, "", "missing required key 'name'"),
      (10, "metrics[0].primary", "expected boolean")]),
    ("unsupported version", "task", VALID_TASK.replace("schema_version: 1", "schema_version: 7"),
     [(1, "schema_version", "unsupported schema_version 7")]),
    ("bad id pattern", "task", VALID_TASK.replace("id: demo", "id: Demo Task"),
     [(2, "id", "does not match")]),
    ("nested unknown key", "tools", textwrap.dedent("""\
        id: mine
        commands:
          - name: open
            docstring: open a file
            signatur: open <path>
        """), [(5, "commands[0].signatur", "did you mean 'signature'")]),
    ("dataset bad checksum", "dataset", textwrap.dedent("""\
        id: d
        files:
          - {name: train.csv, sha256: abc}
        sources:
          - files: data
        """), [(3, "files[0].sha256", "does not match")]),
    ("run config wrong protocol", "run", textwrap.dedent("""\
        tasks: [blotto]
        agents:
          - agent: react
        protocol: lenient
        """), [(4, "protocol", "expected one of 'mlgym', 'strict'")]),
]


@pytest.mark.parametrize("name,schema,text,expected", BROKEN, ids=[b[0] for b in BROKEN])
def test_every_error_is_located(tmp_path, name, schema, text, expected):
    path = tmp_path / f"{schema}.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, schema)
    problems = info.value.problems
    assert len(problems) == len(expected), [str(p) for p in problems]
    message = str(info.value)
    for line, json_path, fragment in expected:
        match = [p for p in problems if p.line == line and p.path == json_path]
        assert match, f"no problem at line {line} path {json_path!r} in:\n{message}"
        assert fragment in match[0].message
        assert f"{path}:{line}:" in message  # file and line in what the user reads


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_text("id: x\nmetrics: [\n  - a\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert f"{path}:" in str(info.value) and "invalid YAML" in str(info.value)


def test_valid_file_has_no_problems(tmp_path):
    data, positions = load_yaml(tmp_path / "t.yaml", VALID_TASK)
    assert validate_data(data, "task", "t.yaml", positions) == []


PLAYER_TASK = """\
schema_version: 1
id: demo
name: Demo
description: Write a strategy.
evaluator:
  path: evaluator
  command: [python, evaluate.py]
  visible: false
hidden_data: hidden
player:
  command: [python, player.py]
metrics:
  - name: score
    direction: maximize
    range: [0, 5]
"""

# (name, yaml text, (line, path, fragment of the message))
TASK_CHECKS = [
    ("player without folder", PLAYER_TASK.replace("  path: evaluator\n", "").replace(
        "  visible: false\n", ""), (9, "player", "the player needs a folder")),
    ("player in the hidden evaluator folder", PLAYER_TASK,
     (11, "player", "not visible to the agent")),
    ("player folder is the hidden evaluator folder",
     PLAYER_TASK.replace("  command: [python, player.py]", "  path: evaluator\n"
                         "  command: [python, player.py]"),
     (11, "player.path", "the player's folder is the evaluator's")),
    ("player folder inside the hidden data",
     PLAYER_TASK.replace("  command: [python, player.py]", "  path: hidden/player\n"
                         "  command: [python, player.py]"),
     (11, "player.path", "overlaps hidden_data")),
    ("empty metric range", PLAYER_TASK.replace("visible: false", "visible: true").replace(
        "range: [0, 5]", "range: [5, 0]"), (15, "metrics[0].range", "the range [5, 0] is empty")),
]


@pytest.mark.parametrize("name,text,expected", TASK_CHECKS, ids=[c[0] for c in TASK_CHECKS])
def test_task_checks_are_located(tmp_path, name, text, expected):
    for folder in ("evaluator", "hidden/player"):
        (tmp_path / folder).mkdir(parents=True)
    path = tmp_path / "task.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, "task")
    problems = info.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    line, json_path, fragment = expected
    assert (problems[0].line, problems[0].path) == (line, json_path), str(problems[0])
    assert fragment in problems[0].message
    assert f"{path}:{line}:" in str(info.value)


def test_a_player_with_a_visible_folder_is_valid(tmp_path):
    (tmp_path / "evaluator").mkdir()
    (tmp_path / "hidden").mkdir()
    path = tmp_path / "task.yaml"
    path.write_text(PLAYER_TASK.replace("visible: false", "visible: true"))
    assert load_config(path, "task")["player"]["command"] == ["python", "player.py"]
