"""A task's knobs: the hyperparameters it declares in ``task.yaml``, their search space, their
values in the starter code, and the shell command that writes new values into the workspace.

A knob names a ``file`` (relative to the workspace) and a ``pattern``: a regular expression
whose one group is the value, e.g. ``'ALPHA = ([0-9.eE+-]+)'``. Its ``type`` is ``float`` or
``int`` (with ``low``, ``high`` and optionally ``log``) or ``choice`` (with ``choices``). The
value is written as text in place of the group: numbers as Python writes them, choices as
``str(choice)``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgym.errors import ConfigError

# The program that sets one knob: replaces group 1 of the first match of PATTERN in FILE by
# VALUE, and fails (naming the file and the pattern) when nothing matches. Kept on one line so
# the action reads as one command per knob.
SET_KNOB = ("import re,sys,pathlib;f,p,v=sys.argv[1:];t=pathlib.Path(f).read_text();"
            "m=re.search(p,t,re.M);m or sys.exit(f'{f}: no match for {p}');"
            "pathlib.Path(f).write_text(t[:m.start(1)]+v+t[m.end(1):])")


@dataclass(frozen=True)
class Knob:
    """One declared hyperparameter and its search space."""

    name: str
    file: str
    pattern: str
    type: str  # "float", "int" or "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    @classmethod
    def from_spec(cls, task_id: str, data: Any) -> Knob:
        """Read one entry of ``knobs:``; a knob that cannot be searched raises ConfigError."""
        data = dict(data)
        name = data["name"]
        where = f"task {task_id!r}, knob {name!r}"
        kind = data.get("type") or ("choice" if "choices" in data else "float")
        try:
            regex = re.compile(data["pattern"], re.M)
        except re.error as exc:
            raise ConfigError(f"{where}: pattern {data['pattern']!r} is not a regular "
                              f"expression ({exc})") from None
        if regex.groups != 1:
            raise ConfigError(f"{where}: pattern {data['pattern']!r} has {regex.groups} groups; "
                              "give it exactly one, around the value")
        if kind == "choice":
            choices = tuple(data.get("choices") or ())
            if not choices:
                raise ConfigError(f"{where}: a choice knob needs a non-empty 'choices' list")
            return cls(name, data["file"], data["pattern"], kind, choices=choices)
        low, high = data.get("low"), data.get("high")
        if low is None or high is None or not low < high:
            raise ConfigError(f"{where}: a {kind} knob needs low < high; got low={low!r}, "
                              f"high={high!r}")
        log = bool(data.get("log", False))
        if log and low <= 0:
            raise ConfigError(f"{where}: log: true needs low > 0; got low={low!r}")
        if kind == "int" and (int(low) != low or int(high) != high):
            raise ConfigError(f"{where}: an int knob needs whole low and high; got {low}, {high}")
        return cls(name, data["file"], data["pattern"], kind, low, high, log)

    def distribution(self) -> Any:
        """The knob's search space as an Optuna distribution."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.type == "choice":
            return CategoricalDistribution(self.choices)
        if self.type == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(float(self.low), float(self.high), log=self.log)

    def parse(self, text: str) -> Any:
        """The value of the knob's group as it reads in a file, in the knob's type."""
        if self.type == "choice":
            for choice in self.choices:
                if str(choice) == text:
                    return choice
            raise ValueError(f"{text!r} is none of {list(self.choices)}")
        return int(text) if self.type == "int" else float(text)

    def contains(self, value: Any) -> bool:
        if self.type == "choice":
            return value in self.choices
        return self.low <= value <= self.high

    def text(self, value: Any) -> str:
        """How ``value`` is written into the file."""
        if self.type == "float":
            return repr(float(value))
        if self.type == "int":
            return str(int(value))
        return str(value)

    def current(self, folder: Path) -> Any | None:
        """The knob's value in ``folder`` (e.g. the task's starter code), or None when the file
        is missing, the pattern does not match or the value is outside the search space."""
        path = folder / self.file
        try:
            match = re.search(self.pattern, path.read_text(encoding="utf-8"), re.M)
            value = self.parse(match.group(1)) if match else None
        except (OSError, ValueError):
            return None
        return value if value is not None and self.contains(value) else None

    def command(self, value: Any, python: str = "python3") -> str:
        """The shell command (run by ``python``) that writes ``value`` into the workspace."""
        return " ".join([python, "-c", shlex.quote(SET_KNOB), shlex.quote(self.file),
                         shlex.quote(self.pattern), shlex.quote(self.text(value))])


def task_knobs(task: Any) -> list[Knob]:
    """The knobs a :class:`mlgym.specs.TaskSpec` declares, checked."""
    knobs = [Knob.from_spec(task.id, k) for k in task.knobs]
    names = [k.name for k in knobs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"task {task.id!r}: knob names must differ; repeated: {repeated}")
    return knobs


def write_command(knobs: list[Knob], values: dict[str, Any], python: str = "python3") -> str:
    """One command line setting every knob to its value in ``values``."""
    return " && ".join(k.command(values[k.name], python) for k in knobs)


def describe(values: dict[str, Any]) -> str:
    """``alpha=0.1, depth=3``: a setting as the agent's discussion shows it."""
    return ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                     for name, value in values.items())
