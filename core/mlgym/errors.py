"""Typed errors. Each message names the bad value and the fix."""

from __future__ import annotations


class MLGymError(Exception):
    """Base of every error MLGym raises on purpose."""


class ConfigError(MLGymError, ValueError):
    """A YAML file or an option is invalid. ``problems`` lists every error found."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = problems or []


class UnknownIdError(MLGymError, KeyError):
    """An id (task, agent, backend...) that no installed plugin provides."""

    def __init__(self, kind: str, name: str, known: list[str]):
        import difflib

        near = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        listing = ", ".join(sorted(known)) or "none installed"
        super().__init__(f"unknown {kind} {name!r}.{hint} Installed: {listing}.")
        self.kind, self.name, self.suggestions = kind, name, near

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class DuplicateIdError(MLGymError):
    """Two plugins claim the same id."""


class PluginLoadError(MLGymError):
    """A plugin failed to import or its hook raised."""


class SandboxError(MLGymError, RuntimeError):
    """The sandbox could not be started or broke."""


class SandboxTimeout(SandboxError, TimeoutError):
    """A command ran past its time limit; its process tree was killed."""


class DataUnavailableError(MLGymError, FileNotFoundError):
    """A dataset cannot be materialised here; the message says what to install or set."""


class EvaluationError(MLGymError):
    """An evaluator failed or printed output that does not match the task's metrics."""
