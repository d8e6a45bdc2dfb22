"""Classify agent actions by kind, for the analysis plots of reports.

The kinds are the paper's: edit, view, search, validate, submit, python (running Python: scripts,
``pip``, ``pytest``, launchers such as ``torchrun`` and ``accelerate launch``), bash (any other
shell command) and other (empty or unreadable). A command line is classified by the command it
exists to run: the env's ``long`` prefix, wrappers (``nohup``, ``time``, ``timeout 600``, ``env
X=1``, ``sudo``), variable assignments and set-up segments of a compound (``cd x &&``, ``export
X=1;``, ``source venv/bin/activate &&``) are looked through, so ``long cd src && python train.py``
is python. A multi-line tool call (``edit``, ``create``, ``insert``) is classified by its first
word alone: its body is file content, not commands.
"""

from __future__ import annotations

import re
import shlex

ACTION_KINDS = ("edit", "view", "search", "validate", "submit", "python", "bash", "other")
SUBMIT_ACTIONS = ("submit", "auto_submit")
"""The evaluations that hand the workspace in: an episode's submission is the last of them; a
``validate`` never is."""

_FIRST_WORD = {
    "edit": "edit", "insert": "edit", "create": "edit", "append": "edit",
    "open": "view", "goto": "view", "scroll_up": "view", "scroll_down": "view", "cat": "view",
    "head": "view", "tail": "view", "less": "view", "more": "view", "ls": "view", "tree": "view",
    "nl": "view", "wc": "view",
    "search_dir": "search", "search_file": "search", "find_file": "search", "grep": "search",
    "egrep": "search", "find": "search", "literature_search": "search", "rg": "search",
    "validate": "validate", "submit": "submit",
    "python": "python", "pip": "python", "pytest": "python", "torchrun": "python",
    "accelerate": "python", "deepspeed": "python", "ipython": "python", "jupyter": "python",
    "uv": "python",
}
_PYTHON = re.compile(r"^(python|pip|pypy)[\d.]*$")  # python3, python3.11, pip3, pypy3
_SETUP = {"cd", "pushd", "popd", "export", "source", ".", "set", "unset", "alias", "mkdir",
          "ulimit", "umask", "true", ":", "clear"}
_WRAPPERS = {"nohup", "time", "nice", "exec", "command", "sudo", "stdbuf", "srun", "xargs"}
_DURATION = re.compile(r"^\d+(\.\d+)?[smhd]?$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
_SEPARATORS = re.compile(r"&&|\|\||;|\n|(?<![>&])&(?![>&])|\|")
_WRITERS = {"cat", "echo", "printf"}
_MULTILINE_TOOLS = {"edit", "insert", "create", "append"}
_READ = 10_000  # characters of an action that decide its kind (shlex takes quadratic time)


def classify(action: str) -> str:
    """The kind of one action: edit, view, search, validate, submit, python, bash or other."""
    text = action.strip()[:_READ]
    if text.startswith("long") and text[4:5] in (" ", "\t"):
        text = text[5:].strip()
    if not text:
        return "other"
    first_line = text.split("\n", 1)[0]
    if _program(first_line.split()[0]) in _MULTILINE_TOOLS:
        return "edit"
    if "<<" in first_line:  # a here-document: the lines after the first are its content
        text = first_line
    kinds = [kind for kind in map(_segment_kind, _segments(text)) if kind is not None]
    if not kinds:  # only set-up (`cd src`, `export X=1`): plain shell work
        return "bash" if _looks_like_shell(text) else "other"
    # running Python is what a compound exists for (`cd x && pip install y && python z.py`)
    return "python" if "python" in kinds else kinds[0]


def _segments(text: str) -> list[str]:
    """The simple commands of a command line, split at ``&&``, ``||``, ``;``, ``&``, ``|`` and
    line ends (quotes are not parsed: a separator inside quotes only adds a segment)."""
    return [s.strip() for s in _SEPARATORS.split(text) if s.strip()]


def _segment_kind(segment: str) -> str | None:
    """The kind of one simple command; None for set-up that does no work of its own."""
    try:
        words = shlex.split(segment, comments=True)
    except ValueError:  # an unbalanced quote: fall back to whitespace
        words = segment.split()
    words = _unwrap(words)
    if not words:
        return None
    program = _program(words[0])
    if program in _SETUP:
        return None
    if program in _WRITERS and ">" in segment.split("<<", 1)[0]:
        return "edit"  # `cat > file <<EOF`, `echo x >> file`: writing a file
    if program in ("bash", "sh") and len(words) > 2 and words[1] == "-c":
        return classify(words[2])
    if program in _FIRST_WORD:
        return _FIRST_WORD[program]
    if _PYTHON.match(program) or program.endswith(".py"):
        return "python"
    if program in ("bash", "sh") and len(words) > 1 and words[1].endswith(".py"):
        return "python"
    return "bash" if _looks_like_shell(segment) else "other"


def _unwrap(words: list[str]) -> list[str]:
    """Drop variable assignments and wrappers in front of the command they run."""
    i = 0
    while i < len(words):
        word = words[i]
        name = _program(word)
        if _ASSIGNMENT.match(word):
            i += 1
        elif name == "env":
            i += 1
            while i < len(words) and (words[i].startswith("-") or _ASSIGNMENT.match(words[i])):
                i += 1
        elif name == "timeout":  # `timeout [-s KILL] 600 CMD`: up to and including the duration
            i += 1
            while i < len(words) and not _DURATION.match(words[i]):
                i += 1
            i += 1
        elif name in _WRAPPERS:
            i += 1
            while i < len(words) and words[i].startswith("-"):  # the wrapper's own options
                i += 1
        else:
            break
    return words[i:]


def _program(word: str) -> str:
    """The command's name without its folder: ``/usr/bin/python3`` -> ``python3``."""
    return word.rsplit("/", 1)[-1]


def _looks_like_shell(text: str) -> bool:
    return bool(re.match(r"^[A-Za-z_.~/$(\[{!][\w.~/$-]*", text))
