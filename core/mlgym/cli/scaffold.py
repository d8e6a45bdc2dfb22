"""``mlgym new task <id>``: scaffold a task plugin package that validates, installs and lists as is."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from mlgym.errors import ConfigError

_PYPROJECT = '''\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "mlgym-task-{id}"
version = "0.1.0"
description = "MLGym task: {name}"
requires-python = ">=3.11"
dependencies = ["mlgym-core"]

[project.entry-points.mlgym]
task-{id} = "{package}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
"{package}" = ["*.yaml", "**/*"]
'''

_INIT = '''\
"""MLGym task plugin: {name}."""

from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent


@hookimpl
def mlgym_tasks():
    return [HERE / "task.yaml"]
'''

_TASK = '''\
# Checked against `mlgym schema task`; run `mlgym validate .` after every change.
schema_version: 1
id: {id}
name: {name}
category: example
description: |
  Write your best guess of the hidden number into answer.txt in the workspace.
  Use `validate` to see how far off you are and `submit` when done.
starter_code: starter
submission:
  files: [answer.txt]
evaluator:
  path: evaluator
  command: [python, evaluate.py]
  visible: true
  timeout: 60
hidden_data: hidden
metrics:
  - name: error
    direction: minimize
    primary: true
    description: absolute distance between the answer and the hidden number
baseline:
  error: 42.0
limits:
  command_timeout: 30
  max_steps: 20
compute:
  cpus: 1
  memory: 512MiB
'''

_EVALUATE = '''\
"""Evaluator of the {id} task.

MLGym runs this in a fresh process that the agent cannot reach, with the working directory set
to this folder and these environment variables:
  MLGYM_WORKSPACE   the agent's workspace (read-only)
  MLGYM_HIDDEN_DIR  the task's hidden data (never visible to the agent)
  MLGYM_SPLIT       "dev" or "test"
  MLGYM_SEED        seed for anything random
It prints one JSON object of metrics as its last line of output; a non-zero exit code is a failed
evaluation whose message the agent sees.
"""

import json
import os
import sys
from pathlib import Path

workspace = Path(os.environ["MLGYM_WORKSPACE"])
hidden = Path(os.environ["MLGYM_HIDDEN_DIR"])
answer_file = workspace / "answer.txt"
if not answer_file.exists():
    sys.exit("answer.txt not found in the workspace")
try:
    answer = float(answer_file.read_text().strip())
except ValueError:
    sys.exit("answer.txt must contain a single number")
target = float((hidden / "target.txt").read_text())
print(json.dumps({{"error": abs(answer - target)}}))
'''

_README = '''\
# mlgym-task-{id}

{name}: an MLGym task. The agent writes a number into `answer.txt`; the score is its distance
to a hidden number (`error`, lower is better). Baseline (`answer.txt` = 0): 42.

    pip install -e .
    mlgym list tasks
    mlgym validate .
'''


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="scaffold a new plugin package",
                       description="Create a new plugin package that validates, installs and lists as is.")
    p.add_argument("kind", choices=["task"], help="what to create")
    p.add_argument("id", help="the new id (lower-case letters, digits and '-')")
    p.add_argument("--dir", type=Path, default=None, help="parent folder (default: current directory)")
    p.add_argument("--name", default=None, help="human-readable name")
    p.set_defaults(func=cmd_new)


def scaffold_task(task_id: str, parent: Path, name: str | None = None) -> Path:
    """Write a task plugin package ``mlgym-task-<id>`` under ``parent``; return its folder."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", task_id):
        raise ConfigError(f"task id {task_id!r} must be lower-case letters, digits and '-', e.g. 'my-task'")
    root = parent / f"mlgym-task-{task_id}"
    if root.exists():
        raise ConfigError(f"{root} already exists; choose another id or --dir")
    package = "mlgym_task_" + task_id.replace("-", "_")
    values = {"id": task_id, "name": name or task_id.replace("-", " ").title(), "package": package}
    src = root / "src" / package
    files = {
        root / "pyproject.toml": _PYPROJECT,
        root / "README.md": _README,
        src / "__init__.py": _INIT,
        src / "task.yaml": _TASK,
        src / "evaluator" / "evaluate.py": _EVALUATE,
        src / "starter" / "answer.txt": "0\n",
        src / "hidden" / "target.txt": "42\n",
    }
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values))
    return root


def cmd_new(args) -> int:
    root = scaffold_task(args.id, args.dir or Path.cwd(), args.name)
    print(f"created {root}")
    print(f"next: pip install -e {root} && mlgym list tasks && mlgym validate {root}")
    return 0
