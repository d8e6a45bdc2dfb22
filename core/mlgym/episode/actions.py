"""Classify agent actions by kind, for the analysis plots of reports."""

from __future__ import annotations

import re

ACTION_KINDS = ("edit", "view", "search", "validate", "submit", "python", "bash", "other")

_FIRST_WORD = {
    "edit": "edit", "insert": "edit", "create": "edit", "append": "edit",
    "open": "view", "goto": "view", "scroll_up": "view", "scroll_down": "view", "cat": "view",
    "head": "view", "tail": "view", "less": "view", "ls": "view",
    "search_dir": "search", "search_file": "search", "find_file": "search", "grep": "search",
    "find": "search", "literature_search": "search", "rg": "search",
    "validate": "validate", "submit": "submit",
    "python": "python", "python3": "python", "pip": "python", "pytest": "python",
}


def classify(action: str) -> str:
    """The kind of one action: edit, view, search, validate, submit, python, bash or other."""
    text = action.strip()
    if not text:
        return "other"
    first = re.split(r"\s+", text, maxsplit=1)[0]
    first = first.rsplit("/", 1)[-1]
    if first in _FIRST_WORD:
        return _FIRST_WORD[first]
    if re.match(r"^[A-Za-z_][\w.-]*(=|\s|$)", text) or text.startswith(("./", "bash", "sh ", "cd")):
        return "bash"
    return "other"
