"""Shared code of ``search_dir``, ``search_file`` and ``find_file``: walking folders with limits.

Every listing is capped; when something is cut or skipped, the output says what and how much.
"""

from __future__ import annotations

import os

from _filetools import ToolError, is_binary, resolve

MAX_RESULTS = int(os.environ.get("MLGYM_SEARCH_MAX_RESULTS", "100"))
MAX_FILES_SCANNED = int(os.environ.get("MLGYM_SEARCH_MAX_FILES", "20000"))
MAX_FILE_BYTES = int(os.environ.get("MLGYM_SEARCH_MAX_FILE_MB", "10")) * 1024 * 1024
MAX_MATCH_CHARS = 200
SKIPPED_FOLDERS = ("__pycache__", "node_modules")


def check_dir(path: str) -> str:
    full = resolve(path)
    if os.path.isfile(full):
        raise ToolError(f"{path} is a file, not a directory. Use `search_file <term> {path}` "
                        "to search it.")
    if not os.path.isdir(full):
        raise ToolError(f"Directory {path} not found.")
    return full


class Walk:
    """Files under a folder, skipping hidden and cache folders, counting what it skipped."""

    def __init__(self, root: str):
        self.root = root
        self.skipped_folders: list[str] = []
        self.stopped = False
        self.scanned = 0

    def files(self):
        for folder, dirs, names in os.walk(self.root):
            keep = []
            for d in sorted(dirs):
                if d.startswith(".") or d in SKIPPED_FOLDERS:
                    self.skipped_folders.append(os.path.join(folder, d))
                else:
                    keep.append(d)
            dirs[:] = keep
            for name in sorted(names):
                if self.scanned >= MAX_FILES_SCANNED:
                    self.stopped = True
                    return
                self.scanned += 1
                yield os.path.join(folder, name)

    def footnotes(self) -> list[str]:
        notes = []
        if self.skipped_folders:
            shown = ", ".join(display(p) for p in self.skipped_folders[:5])
            more = len(self.skipped_folders) - 5
            more = f" and {more} more" if more > 0 else ""
            notes.append(f"(skipped hidden and cache folders: {shown}{more}; search them by "
                         "naming them)")
        if self.stopped:
            notes.append(f"(stopped after scanning {MAX_FILES_SCANNED} files; search a smaller "
                         "folder)")
        return notes


def display(path: str) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def searchable(path: str) -> str | None:
    """None if the file can be searched, else why not."""
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            return f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"
        if is_binary(path):
            return "binary"
    except OSError as exc:
        return exc.strerror or "unreadable"
    return None


def matching_lines(path: str, term: str):
    """(line number, line) of every line of ``path`` that contains ``term``."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if term in line:
                yield number, line.rstrip("\r\n")


def short(line: str) -> str:
    line = line.strip()
    if len(line) <= MAX_MATCH_CHARS:
        return line
    return f"{line[:MAX_MATCH_CHARS]} ... [cut: {len(line) - MAX_MATCH_CHARS} more characters]"


def plural(n: int, word: str) -> str:
    ending = "" if n == 1 else ("es" if word.endswith("ch") else "s")
    return f"{n} {word}{ending}"
