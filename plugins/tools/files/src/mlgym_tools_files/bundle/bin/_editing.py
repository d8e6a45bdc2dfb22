"""Shared code of ``edit`` and ``insert``: read the new text, apply it, lint it, roll back.

The new text arrives on standard input. The environment turns the agent's block::

    edit 3:5
    <new lines>
    end_of_edit

into a here-document that hands bash's stdin the new lines followed by the ``end_of_edit`` line
(see ``mlgym.specs.expand_multiline``).
An edit of a Python file that introduces a syntax error, or an undefined name inside the edited
lines, is not applied: the agent sees the errors, its proposed version and the original.
"""

from __future__ import annotations

import sys
from collections import Counter

from _filetools import (
    TextFile,
    ToolError,
    centred_first_line,
    numbered,
    open_file_or_fail,
    show,
)
from _lint import lint

CONTEXT = 5  # lines shown around a rejected edit
MAX_SHOWN = 200  # lines of a proposed or original region shown before cutting


def read_body(command: str, end_name: str) -> list[str]:
    """The lines given after the command line, as read from stdin up to the ``end_name`` line.

    The end line marks where the text ends (an empty text deletes lines); without it, all of
    stdin is the text, and an empty stdin means the agent gave no text at all.
    """
    hint = (f"{command.split()[0]} needs the new lines after the command, ended by a line "
            f"`{end_name}`, e.g.\n"
            f"{command}\n<new lines>\n{end_name}")
    try:
        data = sys.stdin.buffer.read()
    except (OSError, ValueError, AttributeError):  # stdin closed
        data = b""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError("The new text is not valid UTF-8.") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for i, line in enumerate(lines):
        if line.rstrip() == end_name:
            return lines[:i]
    if not lines:
        raise ToolError("No text given. " + hint)
    return lines


def is_python(path: str, lines: list[str]) -> bool:
    if path.endswith((".py", ".pyi")):
        return True
    return bool(lines) and lines[0].startswith("#!") and "python" in lines[0]


def apply_change(path: str, start: int, end: int, new: list[str], verb: str) -> str:
    """Replace lines ``start``..``end`` (``end = start - 1`` inserts) by ``new``; lint Python.

    Returns the updated window; a rejected change raises :class:`ToolError` with the errors, the
    proposed lines and the original ones.
    """
    f = TextFile(path)
    if not f.clean:
        raise ToolError(f"{path} is not valid UTF-8; editing it would corrupt it. Edit it with "
                        "Python or sed instead.")
    old = f.lines
    proposed = old[: start - 1] + new + old[end:]
    region = (start, start + len(new) - 1)  # in the proposed file; empty when deleting
    notes: list[str] = []
    if is_python(path, old):
        errors, notes = _new_problems(f.text(old), f.text(proposed), (start, end), region)
        if errors:
            raise ToolError(_rejection(path, old, proposed, (start, end), region, errors, verb))
    f.write(proposed)
    focus = start if new else max(1, start - 1)
    view = show(path, centred_first_line(focus, len(proposed)))
    done = (f"File updated ({_describe(verb, start, end, len(new))}). Check the lines below: "
            "indentation, duplicates, what you meant.")
    return "\n".join([done] + notes + [view])


def _describe(verb: str, start: int, end: int, count: int) -> str:
    lines = "line" if count == 1 else "lines"
    if verb == "insert":
        return f"inserted {count} {lines} after line {start - 1}"
    return f"replaced lines {start}-{end} with {count} {lines}"


def _new_problems(old_text: str, new_text: str, old_region: tuple,
                  new_region: tuple) -> tuple[list, list[str]]:
    """Errors the change introduces (reject) and notes about names broken elsewhere (keep)."""
    before, after = lint(old_text), lint(new_text)
    syntax_before = [p for p in before if p.syntax]
    syntax_after = [p for p in after if p.syntax]
    if syntax_after:
        inside = new_region[0] - 1 <= syntax_after[0].line <= max(new_region) + 1
        if not syntax_before or inside:  # a file that parsed now fails, or fails in the edit
            return syntax_after, []
        return [], [f"Note: the file still has a syntax error outside your edit: {syntax_after[0]}"]
    if syntax_before:
        return [], []  # the edit repaired the file; names could not be compared before

    def within(p, region):
        return region[0] <= p.line <= region[1]

    old_inside = Counter(p.message for p in before if within(p, old_region))
    new_inside = [p for p in after if within(p, new_region)]
    errors = [p for p in new_inside if _take(old_inside, p.message)]
    old_outside = Counter(p.message for p in before if not within(p, old_region))
    broken = [p for p in after if not within(p, new_region) and _take(old_outside, p.message)]
    notes = [f"Note: after this edit, {p} (still applied; fix it if it is a mistake)"
             for p in broken]
    return errors, notes


def _take(counter: Counter, message: str) -> bool:
    """True if ``message`` is new, i.e. not one of the remaining old occurrences."""
    if counter[message] > 0:
        counter[message] -= 1
        return False
    return True


def _rejection(path, old, proposed, old_region, new_region, errors, verb) -> str:
    out = ["Your {} was NOT applied: it introduces {} in {}:".format(
        verb, "this error" if len(errors) == 1 else "these errors", path)]
    out += [f"- {e}" for e in errors]
    out += ["", f"This is how the lines would look after your {verb}:", "-" * 40]
    out += _excerpt(proposed, new_region)
    out += ["-" * 40, f"This is the original code before your {verb}:", "-" * 40]
    out += _excerpt(old, old_region)
    out += ["-" * 40, "The file is unchanged. Fix the errors above (check indentation and names) "
            f"and run {verb} again."]
    return "\n".join(out)


def _excerpt(lines: list[str], region: tuple) -> list[str]:
    """Numbered lines of ``region`` with a few lines of context, cut if very long."""
    first = max(1, region[0] - CONTEXT)
    last = min(len(lines), max(region[1], region[0] - 1) + CONTEXT)
    if last < first:
        return ["(the file would be empty)"]
    out = []
    if last - first + 1 > MAX_SHOWN:
        cut = last - first + 1 - MAX_SHOWN
        out = numbered(lines, first, first + MAX_SHOWN - 1)
        out.append(f"({cut} more lines not shown)")
    else:
        out = numbered(lines, first, last)
    return out


def target_file() -> str:
    path, _ = open_file_or_fail()
    return path
