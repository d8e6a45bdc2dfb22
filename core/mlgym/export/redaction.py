"""What never leaves in an export: secrets, the harness's own paths, and test-split signal.

:class:`Redactor` rewrites every string of a record: the values of the environment variables
that hold keys or tokens, strings shaped like API keys, and the folders of the harness (its
Python prefix, MLGym's cache and results folders, the user's home) become placeholders. The
agent's own paths (``/home/agent/workspace`` inside a sandbox) stay.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SECRET = "<secret>"
HARNESS = "<harness>"
_SECRET_VARIABLES = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.I)
_KEY_SHAPES = re.compile(
    r"\b(sk-[A-Za-z0-9_\-]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|hf_[A-Za-z0-9]{20,}|"
    r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|"
    r"xox[abpr]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{30,})")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{12,}")


class Redactor:
    """Replaces secrets and harness paths in strings and nested records."""

    def __init__(self, environ: dict[str, str] | None = None,
                 extra_paths: Iterable[str | Path] = ()):
        environ = dict(os.environ if environ is None else environ)
        self.secrets = sorted({value for name, value in environ.items()
                               if _SECRET_VARIABLES.search(name) and len(value) >= 8},
                              key=len, reverse=True)
        self.paths = sorted({str(p).rstrip("/") for p in (*_harness_paths(environ), *extra_paths)
                             if p and len(str(p).rstrip("/")) > 1}, key=len, reverse=True)
        self._path_patterns = [re.compile(re.escape(p) + r"(?=/|\b|$)") for p in self.paths]

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, SECRET)
        value = _KEY_SHAPES.sub(SECRET, value)
        value = _BEARER.sub(lambda m: m.group(1) + SECRET, value)
        for pattern in self._path_patterns:
            value = pattern.sub(HARNESS, value)
        return value

    def record(self, value: Any) -> Any:
        """``value`` with every string in it (keys included) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.record(v)
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.record(v) for v in value]
        return value


def _harness_paths(environ: dict[str, str]) -> list[str]:
    from mlgym import locations

    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).parents[2])]
    for folder in ("cache_dir", "results_dir"):
        function = getattr(locations, folder, None)
        if callable(function):
            try:
                paths.append(str(function()))
            except Exception:  # a location that cannot be made is not in any trajectory
                pass
    for name in ("MLGYM_CACHE_DIR", "MLGYM_RESULTS_DIR", "VIRTUAL_ENV"):
        if environ.get(name):
            paths.append(environ[name])
    home = environ.get("HOME") or str(Path.home())
    if home not in ("/", "/home/agent"):
        paths.append(home)
    return paths
