"""``mlgym new task <id>``: scaffold a task plugin package that validates, installs and lists as is.

With ``--player`` the task's evaluator is a referee that calls the agent's code through the player
protocol (``docs/tasks.md``): the package then holds a player program and copies of the protocol's
two halves (:func:`mlgym.player.library_files`).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

from mlgym.errors import ConfigError

# setuptools builds wheels by itself from 70.1 on; before, it needed the `wheel` package
_PYPROJECT = '''\
[build-system]
requires = ["setuptools>=70.1"]
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
  MLGYM_WORKSPACE   the submission files of the agent's workspace (a read-only snapshot)
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

_PLAYER_TASK = '''\
# Checked against `mlgym schema task`; run `mlgym validate .` after every change.
schema_version: 1
id: {id}
name: {name}
category: example
description: |
  Write the function `predict(x)` in solution.py: given an integer x, it returns an integer,
  your guess of a hidden function of x. The score is the mean absolute error of the guesses over
  hidden cases (lower is better). The evaluator calls your function in a separate process;
  a guess that is not an integer, or an exception, fails the evaluation. Use `validate` to see
  your score and `submit` when done.
starter_code: starter
submission:
  files: [solution.py]
evaluator:
  path: evaluator
  command: [python, evaluate.py]
  visible: true
  timeout: 120
player:
  command: [python, player.py]
  call_timeout: 30
  max_starts: 2
hidden_data: hidden
metrics:
  - name: error
    direction: minimize
    primary: true
    range: [0, null]
    description: mean absolute distance between the guesses and the hidden values
baseline:
  error: {baseline}
limits:
  command_timeout: 30
  max_steps: 20
compute:
  cpus: 1
  memory: 512MiB
'''

_REFEREE = '''\
"""Evaluator of the {id} task: a referee that calls the agent's ``predict`` through a player.

MLGym runs this in a fresh process that the agent cannot reach, with the working directory set
to this folder and these environment variables:
  MLGYM_WORKSPACE      the submission files of the agent's workspace (a read-only snapshot)
  MLGYM_HIDDEN_DIR     the task's hidden data (never visible to the agent)
  MLGYM_SPLIT          "dev" or "test"
  MLGYM_SEED           seed for anything random
  MLGYM_PLAYER_SOCKET  where to connect for a player: the agent's code, started by MLGym in a
                       sandbox of its own (player.py)
It never imports the agent's code; it sends the player the hidden cases' inputs and checks every
answer. It prints one JSON object of metrics as its last line of output; a failure of the agent's
code is reported with ``referee.fail``. Run by hand, the player starts here, unisolated.
"""

import json
import os
import sys
from pathlib import Path

import mlgym_referee as referee

HERE = Path(__file__).resolve().parent


def main() -> int:
    hidden = Path(os.environ.get("MLGYM_HIDDEN_DIR", HERE.parent / "hidden"))
    cases = json.loads((hidden / "cases.json").read_text())  # [[x, value], ...]
    seed = int(os.environ.get("MLGYM_SEED", "0"))
    try:
        with referee.connect(local=[sys.executable, str(HERE / "player.py")]) as player:
            player.call("load")
            guesses = player.call("predict", [[x] for x, _ in cases], seed=seed)  # one batch
            for guess in guesses:
                referee.check_int(guess, call="predict", what="predict's guess")
    except referee.PlayerError as exc:
        return referee.fail(exc)
    error = sum(abs(guess - value) for guess, (_, value) in zip(guesses, cases)) / len(cases)
    print(json.dumps({{"error": error}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

_PLAYER = '''\
"""The player of the {id} task: the agent's ``predict`` behind two calls of the player protocol.

MLGym starts this in a sandbox of its own for each connection of the referee (evaluate.py): the
workspace read-only, no hidden data, no network. ``load`` imports solution.py from the workspace;
``predict`` calls its function.
"""

import mlgym_player

predict = None


def load():
    global predict
    predict = mlgym_player.workspace_function("solution.py", "predict")


if __name__ == "__main__":
    mlgym_player.serve({{"load": load, "predict": lambda x: predict(x)}})
'''

_SOLUTION = '''\
def predict(x):
    """Your guess of the hidden value for the integer ``x`` (an integer)."""
    return 0
'''

_PLAYER_README = '''\
# mlgym-task-{id}

{name}: an MLGym task whose evaluator calls the agent's code. The agent writes `predict(x)` in
`solution.py`; the evaluator (`evaluator/evaluate.py`, a referee) calls it through a player
(`evaluator/player.py`) that MLGym runs in a sandbox of its own, and scores the mean absolute
error against hidden values (`error`, lower is better). Baseline (`predict` returns 0): {baseline}.
`evaluator/mlgym_referee.py` and `evaluator/mlgym_player.py` are copies of the player protocol's
two halves from mlgym-core (`mlgym.player.library_files()`).

    pip install -e .
    mlgym list tasks
    mlgym validate .
'''

_CASES = [[x, 3 * x + 1] for x in range(-5, 15)]  # the hidden function: 3x + 1

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
    p.add_argument("--player", action="store_true", help="an evaluator that calls the agent's "
                   "code: a referee and a player (docs/tasks.md)")
    p.set_defaults(func=cmd_new)


def scaffold_task(task_id: str, parent: Path, name: str | None = None, *,
                  player: bool = False) -> Path:
    """Write a task plugin package ``mlgym-task-<id>`` under ``parent``; return its folder.

    ``player``: the evaluator is a referee calling the agent's ``predict`` through a player.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", task_id):
        raise ConfigError(f"task id {task_id!r} must be lower-case letters, digits and '-', e.g. 'my-task'")
    root = parent / f"mlgym-task-{task_id}"
    if root.exists():
        raise ConfigError(f"{root} already exists; choose another id or --dir")
    package = "mlgym_task_" + task_id.replace("-", "_")
    values = {"id": task_id, "name": name or task_id.replace("-", " ").title(), "package": package}
    src = root / "src" / package
    if player:
        _write_player_task(root, src, values)
        return root
    files = {
        root / "pyproject.toml": _PYPROJECT,
        root / "README.md": _README,
        src / "__init__.py": _INIT,
        src / "task.yaml": _TASK,
        src / "evaluator" / "evaluate.py": _EVALUATE,
        src / "starter" / "answer.txt": "0\n",
        src / "hidden" / "target.txt": "42\n",
    }
    _write(files, values)
    return root


def _write_player_task(root: Path, src: Path, values: dict[str, str]) -> None:
    from mlgym.player import library_files

    baseline = sum(abs(value) for _, value in _CASES) / len(_CASES)  # predict returns 0
    values = {**values, "baseline": f"{baseline:g}"}
    _write({root / "pyproject.toml": _PYPROJECT, root / "README.md": _PLAYER_README,
            src / "__init__.py": _INIT, src / "task.yaml": _PLAYER_TASK,
            src / "evaluator" / "evaluate.py": _REFEREE, src / "evaluator" / "player.py": _PLAYER,
            src / "starter" / "solution.py": _SOLUTION}, values)
    (src / "hidden").mkdir()
    (src / "hidden" / "cases.json").write_text(json.dumps(_CASES) + "\n")
    for file_name, path in library_files().items():
        shutil.copyfile(path, src / "evaluator" / file_name)


def _write(files: dict[Path, str], values: dict[str, str]) -> None:
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values))


def cmd_new(args) -> int:
    root = scaffold_task(args.id, args.dir or Path.cwd(), args.name, player=args.player)
    print(f"created {root}")
    print(f"next: pip install -e {root} && mlgym list tasks && mlgym validate {root}")
    return 0
