"""Shared code of the file commands: reading files, the open-file state and the window view.

Runs inside the sandbox with whatever ``python3`` is first on ``PATH`` (3.8 or newer), so it uses
the standard library only. Every agent mistake raises :class:`ToolError`, whose message is what the
agent sees.
"""

from __future__ import annotations

import difflib
import json
import os
import sys
import tempfile

WINDOW = int(os.environ.get("MLGYM_FILES_WINDOW", "1000"))
OVERLAP = int(os.environ.get("MLGYM_FILES_OVERLAP", "2"))
MAX_LINE_CHARS = int(os.environ.get("MLGYM_FILES_MAX_LINE_CHARS", "2000"))
STATE_NAME = "files.json"


class ToolError(Exception):
    """A misuse by the agent; the message says what was wrong and what to do instead."""


def run(main, argv) -> int:
    """Run a command's ``main(argv)``; a ToolError becomes its message and exit status 1."""
    try:
        out = main(argv)
    except ToolError as exc:
        print(str(exc))
        return 1
    if out:
        print(out)
    return 0


# --- state: the open file and the top line of the window, kept across steps -------------------


def state_dir() -> str:
    path = os.environ.get("MLGYM_STATE_DIR") or os.path.join(
        tempfile.gettempdir(), f"mlgym-state-{os.getuid()}"
    )
    os.makedirs(path, exist_ok=True)
    return path


def load_state() -> dict:
    try:
        with open(os.path.join(state_dir(), STATE_NAME), encoding="utf-8") as f:
            state = json.load(f)
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def save_state(state: dict) -> None:
    folder = state_dir()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".files-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f)
    os.replace(tmp, os.path.join(folder, STATE_NAME))


def open_file_or_fail() -> tuple[str, int]:
    """The open file and the first line of its window; fails when none is open."""
    state = load_state()
    path = state.get("open_file")
    if not path:
        raise ToolError("No file is open. Use `open <path>` first.")
    if not os.path.isfile(path):
        raise ToolError(f"The open file {path} no longer exists. Use `open <path>` to open "
                        "another one.")
    return path, int(state.get("first_line", 1))


def remember(path: str, first_line: int) -> None:
    state = load_state()
    state.update(open_file=path, first_line=first_line)
    save_state(state)


# --- reading files with helpful errors --------------------------------------------------------


def resolve(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def check_file(path: str, what: str = "file") -> str:
    """The absolute path of an existing regular text file, or a ToolError saying what is wrong."""
    full = resolve(path)
    if os.path.isdir(full):
        raise ToolError(f"{path} is a directory, not a file. Use `ls {path}` to list it or "
                        f"`find_file <name> {path}` to search it.")
    if not os.path.exists(full):
        raise ToolError(f"File {path} not found.{_near_names(full)}")
    if not os.path.isfile(full):
        raise ToolError(f"{path} is not a regular file (a device, socket or pipe).")
    if not os.access(full, os.R_OK):
        raise ToolError(f"{path} is not readable (permission denied).")
    if is_binary(full):
        raise ToolError(f"{path} is a binary file; {what} shows text files only. Inspect it with "
                        f"`xxd {path} | head` or load it with Python.")
    return full


def _near_names(full: str) -> str:
    folder, name = os.path.split(full)
    if not os.path.isdir(folder):
        return f" The folder {folder} does not exist either."
    try:
        near = difflib.get_close_matches(name, os.listdir(folder), n=3, cutoff=0.6)
    except OSError:
        return ""
    return " Did you mean {}?".format(" or ".join(repr(n) for n in near)) if near else ""


def is_binary(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(8192)
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a multi-byte character cut at the end is fine
    return False


class TextFile:
    """A text file split into lines, remembering its line ending and final newline."""

    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
            self.clean = True
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            self.clean = False
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.final_newline = text.endswith("\n") or text == ""
        body = text[: -len(self.newline)] if text.endswith(self.newline) else text
        self.lines = body.split(self.newline) if body else []

    def text(self, lines: list[str] | None = None) -> str:
        lines = self.lines if lines is None else lines
        if not lines:
            return ""
        return self.newline.join(lines) + (self.newline if self.final_newline else "")

    def write(self, lines: list[str]) -> None:
        with open(self.path, "w", encoding="utf-8", newline="") as f:
            f.write(self.text(lines))
        self.lines = list(lines)


# --- the window -----------------------------------------------------------------------------


def parse_line(text: str, what: str = "line number") -> int:
    try:
        value = int(text)
    except ValueError:
        raise ToolError(f"{what.capitalize()} must be an integer, got {text!r}.") from None
    return value


def centred_first_line(line: int, total: int, window: int = WINDOW) -> int:
    """Top line of a window that shows ``line`` roughly in its middle."""
    return clamp_first(line - window // 2, total, window)


def clamp_first(first: int, total: int, window: int = WINDOW) -> int:
    return max(1, min(first, total - window + 1))


def cut_line(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    return f"{line[:MAX_LINE_CHARS]} ... [line cut: {len(line) - MAX_LINE_CHARS} more characters]"


def numbered(lines: list[str], first: int, last: int) -> list[str]:
    """Lines ``first``..``last`` (1-based, inclusive) prefixed with their numbers."""
    return [f"{n}:{cut_line(lines[n - 1])}" for n in range(first, last + 1)]


def window_view(path: str, lines: list[str], first: int, window: int = WINDOW) -> str:
    """The window of ``lines`` starting at ``first``, with the file header and what lies around."""
    total = len(lines)
    out = [f"[File: {path} ({total} line{'' if total == 1 else 's'} total)]"]
    if total == 0:
        out.append("(the file is empty; add text with `insert 0` or `edit 1:1`)")
        return "\n".join(out)
    first = clamp_first(first, total, window)
    last = min(total, first + window - 1)
    out.append(f"({first - 1} more lines above)" if first > 1
               else "(this is the beginning of the file)")
    out.extend(numbered(lines, first, last))
    out.append(f"({total - last} more lines below)" if last < total
               else "(this is the end of the file)")
    return "\n".join(out)


def show(path: str, first: int) -> str:
    """Show the window of ``path`` at ``first`` and remember it as the open file."""
    lines = TextFile(path).lines
    first = clamp_first(first, len(lines))
    remember(path, first)
    return window_view(path, lines, first)


def usage(text: str) -> ToolError:
    return ToolError(f"Usage: {text}")


if __name__ == "__main__":  # pragma: no cover - a library, not a command
    sys.exit("this module is used by the file commands; run `open`, `edit`, ... instead")
