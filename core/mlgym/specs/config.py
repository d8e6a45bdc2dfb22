"""Load YAML files and check them against MLGym's JSON Schemas, reporting every error at once.

Each problem names the file, line and column, the path inside the document, and what was
expected versus what was found::

    task.yaml:7:3: metrics[0].direction: expected one of 'maximize', 'minimize'; found 'max'
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from mlgym.errors import ConfigError

SCHEMA_NAMES = ("task", "dataset", "agent", "tools", "run", "trajectory", "result")
SUPPORTED_SCHEMA_VERSIONS = (1,)
VERSIONS_OF = {"trajectory": (1, 2)}  # files MLGym writes, in every version written so far


@dataclass(frozen=True)
class Problem:
    """One validation error, located in its file."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


def available_schemas() -> list[str]:
    """Names of the schemas shipped with the core (``mlgym schema <name>``)."""
    root = resources.files("mlgym.specs.schemas")
    return sorted(p.name.removesuffix(".schema.json") for p in root.iterdir() if p.name.endswith(".schema.json"))


@cache
def load_schema(name: str) -> dict:
    """The JSON Schema called ``name`` (``task``, ``dataset``, ``agent``, ``tools``, ``run``...)."""
    path = resources.files("mlgym.specs.schemas") / f"{name}.schema.json"
    if not path.is_file():
        from mlgym.errors import UnknownIdError

        raise UnknownIdError("schema", name, available_schemas())
    return json.loads(path.read_text())


# --- YAML with positions -------------------------------------------------------------------


class _Positions(dict):
    """Maps a JSON path (tuple of keys/indices) to the (line, column) where its value starts.

    ``("key", ...) + ("<key>",)`` maps to the position of the key itself, used for unknown keys.
    """


def _construct(node: yaml.Node, path: tuple, positions: _Positions) -> Any:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            positions[path + (key, "<key>")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _construct(value_node, path + (key,), positions)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(child, path + (i,), positions) for i, child in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    """Construct a scalar (or a complex key) with the safe loader's rules (ints, bools, dates)."""
    return yaml.SafeLoader("").construct_object(node, deep=True)


def load_yaml(path: str | Path, text: str | None = None) -> tuple[Any, _Positions]:
    """Parse a YAML file; return the data and the position of every value in it.

    A YAML syntax error becomes a :class:`ConfigError` naming the file, line and column.
    """
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = Problem(str(path), line, col, "", f"invalid YAML: {getattr(exc, 'problem', exc)}")
        raise ConfigError(str(problem), [problem]) from None
    positions = _Positions()
    if node is None:
        return None, positions
    return _construct(node, (), positions), positions


# --- validation ----------------------------------------------------------------------------


def _json_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _found(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(error: jsonschema.ValidationError) -> list[tuple[tuple, str, bool]]:
    """Turn one jsonschema error into (path, message, at_key) items."""
    path = tuple(error.absolute_path)
    v, inst = error.validator, error.instance
    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in inst if k not in allowed]
        items = []
        for key in extra:
            near = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else f"; allowed keys: {', '.join(allowed)}"
            items.append((path + (key,), f"unknown key {key!r}{hint}", True))
        return items
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [(path, f"missing required key {missing!r}", False)]
    if v == "enum":
        options = ", ".join(repr(o) for o in error.validator_value)
        return [(path, f"expected one of {options}; found {_found(inst)}", False)]
    if v == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return [(path, f"expected {expected}; found {type(inst).__name__} {_found(inst)}", False)]
    if v == "oneOf":
        return [(path, f"expected {error.schema.get('description') or 'one of the allowed forms'}; found {_found(inst)}", False)]
    return [(path, f"{error.message}", False)]


def validate_data(data: Any, schema_name: str, file: str, positions: _Positions | None = None) -> list[Problem]:
    """Every problem of ``data`` against the named schema, sorted by position in the file."""
    positions = positions or _Positions()
    problems: list[Problem] = []
    if isinstance(data, dict) and "schema_version" in data:
        version = data["schema_version"]
        readable = VERSIONS_OF.get(schema_name, SUPPORTED_SCHEMA_VERSIONS)
        if version not in readable:
            line, col = positions.get(("schema_version",), (1, 1))
            supported = ", ".join(map(str, readable))
            problems.append(Problem(file, line, col, "schema_version",
                                    f"unsupported schema_version {version!r}; this MLGym reads {supported} "
                                    "(upgrade mlgym-core or set schema_version: 1)"))
            return problems
    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    for error in validator.iter_errors(data):
        for path, message, at_key in _describe(error):
            key = path + ("<key>",) if at_key else path
            line, col = positions.get(key) or _nearest(positions, path)
            problems.append(Problem(file, line, col, _json_path(path), message))
    problems += _semantic_problems(schema_name, data, positions, file)
    problems.sort(key=lambda p: (p.line, p.column, p.path))
    return problems


def _semantic_problems(schema_name: str, data: Any, positions: _Positions, file: str) -> list[Problem]:
    """Checks beyond the schema (e.g. exactly one primary metric), on whatever parts are usable."""
    if schema_name != "task" or not isinstance(data, dict):
        return []
    try:
        return task_problems(data, positions, file)
    except (TypeError, AttributeError, KeyError):  # the schema errors already say what is wrong
        return []


def task_problems(data: dict, positions: dict, file: str) -> list[Problem]:
    """Checks a schema cannot express: one primary metric, baseline keys are metrics, metric
    ranges are not empty, folders exist next to the file, a player's folder is one the agent may
    see."""
    problems: list[Problem] = []
    root = Path(file).resolve().parent

    def add(path: tuple, message: str) -> None:
        line, col = positions.get(path, positions.get((), (1, 1)))
        dotted = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")
        problems.append(Problem(file, line, col, dotted, message))

    metrics = [m for m in data.get("metrics", []) if isinstance(m, dict)]
    primaries = [i for i, m in enumerate(metrics) if m.get("primary") is True]
    if len(metrics) > 1 and len(primaries) != 1:
        add(("metrics",), f"exactly one metric must have 'primary: true' (found {len(primaries)})")
    names = {m.get("name") for m in metrics}
    for section in ("baseline",):
        for name in data.get(section) or {}:
            if name not in names:
                add((section, name), f"{name!r} is not a declared metric; declared: {', '.join(sorted(map(str, names)))}")
    for i, metric in enumerate(metrics):
        bounds = metric.get("range")
        if (isinstance(bounds, list) and len(bounds) == 2 and None not in bounds
                and all(isinstance(b, (int, float)) for b in bounds) and bounds[0] > bounds[1]):
            add(("metrics", i, "range"), f"the range {bounds} is empty: write [low, high]")
    player = data.get("player")
    evaluator = data.get("evaluator") if isinstance(data.get("evaluator"), dict) else {}
    if isinstance(player, dict) and "path" not in player:
        if "path" not in evaluator:
            add(("player",), "the player needs a folder: give player.path or evaluator.path")
        elif evaluator.get("visible", True) is False:
            add(("player",), "the player runs in the evaluator's folder, which is not visible to "
                "the agent (evaluator.visible: false), so the agent's code would see what the "
                "agent may not: give the player a folder of its own (player.path)")
    if isinstance(player, dict) and isinstance(player.get("path"), str):
        folder = (root / player["path"]).resolve()
        hidden = data.get("hidden_data")
        if (evaluator.get("visible", True) is False and isinstance(evaluator.get("path"), str)
                and folder == (root / evaluator["path"]).resolve()):
            add(("player", "path"), "the player's folder is the evaluator's, which is not "
                "visible to the agent (evaluator.visible: false): give the player a folder of "
                "its own")
        elif isinstance(hidden, str) and _overlap(folder, (root / hidden).resolve()):
            add(("player", "path"), "the player's folder overlaps hidden_data, which the "
                "agent's code must never see: give the player a folder of its own")
    for path in (("starter_code",), ("evaluator", "path"), ("hidden_data",), ("player", "path")):
        value = data.get(path[0]) if len(path) == 1 else (data.get(path[0]) or {}).get(path[1])
        if isinstance(value, str) and not (root / value).is_dir():
            add(path, f"folder {value!r} does not exist next to {Path(file).name}")
    return problems


def _overlap(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def _nearest(positions: _Positions, path: tuple) -> tuple[int, int]:
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return positions.get((), (1, 1))


def load_config(path: str | Path, schema_name: str) -> dict:
    """Load and validate a YAML file; raise :class:`ConfigError` listing every problem."""
    data, positions = load_yaml(path)
    if data is None:
        data = {}
    problems = validate_data(data, schema_name, str(path), positions)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise ConfigError(f"{path}: {count}:\n" + "\n".join(f"  {p}" for p in problems), problems)
    return data
