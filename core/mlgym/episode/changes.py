"""What changed in the workspace at each step: the record behind "what did the agent change?".

:class:`ChangeRecorder` keeps a picture of the workspace (each file's size, modification time and
inode, and the text of small text files) and, after each step, compares the workspace with it:

- a text file that was added, modified or deleted gets its unified diff;
- a binary file, or a text file larger than ``ChangeLimits.file_bytes``, is named with its size;
- a symbolic link is named with its target (never followed), other special files are ignored.

Detection is stat-based: a file whose size, mtime and inode are unchanged is not read again, so a
step that touches nothing costs one ``lstat`` per file (``benchmarks/changes_step.py`` measures
it). Folders mounted into the workspace (datasets, a visible evaluator) and the agent's installed
packages (``.local``), caches and ``.git`` are skipped, and the walk stops after
``ChangeLimits.files`` files. All diffs of one step together hold at most
``ChangeLimits.step_chars`` characters; what does not fit is named without its diff and the
record says it was cut. The record of one step (``changes`` in a trajectory step)::

    {"files": [{"path": "train.py", "change": "modified", "size": 2140,
                "diff": "--- a/train.py\\n+++ b/train.py\\n@@ ...", "note": null}],
     "cut": false, "incomplete": false}

The recorder runs in the harness, which may read what the agent may not: every folder and file is
opened one path component at a time, relative to its parent and without following a link, so a
path the agent swaps for a link mid-walk is not followed, and a file with several hard links is not
read. The record goes into ``info["changes"]`` and the trajectory.
"""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgym.sandbox.base import SandboxConfig

SKIPPED_NAMES = frozenset({".git", "__pycache__", ".local", ".cache", ".ipynb_checkpoints",
                           "node_modules", ".mypy_cache", ".pytest_cache"})
_SNIFF = 8192
MAX_DEPTH = 64  # folders nested deeper are not looked into
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


@dataclass(frozen=True)
class ChangeLimits:
    """Bounds on what is read, kept and recorded."""

    file_bytes: int = 256 * 1024  # larger text files are named with their size, not diffed
    step_chars: int = 64_000  # all diffs of one step together
    files: int = 10_000  # files looked at per step; the rest make the record "incomplete"
    kept_bytes: int = 32 * 1024 * 1024  # text held in memory to diff against


@dataclass
class _Seen:
    key: tuple[int, int, int]  # size, mtime_ns, inode
    kind: str  # "file" or "link"
    text: str | None = None  # the text when it is a small text file (kept to diff against)
    note: str | None = None  # why there is no text: "binary", "larger than ..."
    target: str | None = None  # a link's target


class ChangeRecorder:
    """The workspace at ``root`` watched for changes between steps; see the module docstring."""

    def __init__(self, root: str | Path, skip: Iterable[str] = (),
                 limits: ChangeLimits | None = None):
        self.root = Path(root)
        self.skip = {s.strip("/") for s in skip if s.strip("/")}
        self.limits = limits or ChangeLimits()
        self._seen: dict[str, _Seen] = {}
        self._kept = 0

    @classmethod
    def for_sandbox(cls, config: SandboxConfig, limits: ChangeLimits | None = None) -> ChangeRecorder:
        """A recorder of the sandbox's workspace that skips what is mounted inside it."""
        prefix = config.workspace_target.rstrip("/") + "/"
        inside = [m.target[len(prefix):] for m in config.mounts if m.target.startswith(prefix)]
        return cls(config.workspace, skip=inside, limits=limits)

    def start(self) -> None:
        """Take the picture the first step is compared with."""
        self._seen, self._kept = {}, 0
        found, _ = self._scan()
        for path, (key, kind) in found.items():
            self._seen[path] = self._read(path, key, kind)

    def collect(self) -> dict[str, Any]:
        """The changes since the last call (or :meth:`start`), as a step's ``changes`` record."""
        found, incomplete = self._scan()
        files: list[dict[str, Any]] = []
        budget = self.limits.step_chars
        cut = False
        for path in sorted(set(found) | set(self._seen)):
            old = self._seen.get(path)
            if path not in found:
                if incomplete:  # not reached by this walk: not known to be deleted
                    continue
                entry = self._entry(path, "deleted", old, None)
                self._forget(path)
            else:
                key, kind = found[path]
                if old is not None and old.key == key and old.kind == kind:
                    continue
                new = self._read(path, key, kind)
                entry = self._entry(path, "added" if old is None else "modified", old, new)
                self._forget(path)
                self._remember(path, new)
                if entry is None:  # touched, same content
                    continue
            if entry is None:
                continue
            diff = entry.get("diff")
            if diff is not None and len(diff) > budget:
                entry["diff"], entry["note"], cut = None, "diff left out: the step's limit was reached", True
            elif diff is not None:
                budget -= len(diff)
            files.append(entry)
        return {"files": files, "cut": cut, "incomplete": incomplete}

    # -- the parts ------------------------------------------------------------------------------

    def _scan(self) -> tuple[dict[str, tuple[tuple[int, int, int], str]], bool]:
        """Every file and link under the root (relative path -> (key, kind)); and whether the
        walk stopped at the file limit. Folders are opened one component at a time, relative to
        their parent and never through a link, so a folder swapped for a link mid-walk is not
        entered."""
        found: dict[str, tuple[tuple[int, int, int], str]] = {}
        try:
            root = os.open(self.root, _DIR_FLAGS)
        except OSError:
            return found, False
        complete = self._walk(root, "", 0, found)  # closes root
        return found, not complete

    def _walk(self, fd: int, rel: str, depth: int,
              found: dict[str, tuple[tuple[int, int, int], str]]) -> bool:
        """Add the folder open at ``fd`` (closed here) to ``found``; False at the file limit."""
        try:
            with os.scandir(fd) as entries:
                items = sorted(entries, key=lambda e: e.name)
            for entry in items:
                path = f"{rel}/{entry.name}" if rel else entry.name
                if entry.name in SKIPPED_NAMES or path in self.skip:
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if depth >= MAX_DEPTH:
                        continue
                    try:
                        child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                    except OSError:  # gone, or a link now
                        continue
                    if not self._walk(child, path, depth + 1, found):
                        return False
                    continue
                if stat.S_ISREG(st.st_mode):
                    kind = "file"
                elif stat.S_ISLNK(st.st_mode):
                    kind = "link"
                else:
                    continue
                if len(found) >= self.limits.files:
                    return False
                found[path] = ((st.st_size, st.st_mtime_ns, st.st_ino), kind)
            return True
        except OSError:
            return True
        finally:
            os.close(fd)

    def _read(self, path: str, key: tuple[int, int, int], kind: str) -> _Seen:
        if kind == "link":
            target = _readlink_at(self.root, path)
            return _Seen(key, kind, target=target)
        size = key[0]
        if size > self.limits.file_bytes:
            return _Seen(key, kind, note=f"larger than {_size(self.limits.file_bytes)}")
        data = _read_regular(self.root, path, self.limits.file_bytes + 1)
        if data is None:
            return _Seen(key, kind, note="not read: gone, special, or one of several hard links")
        if b"\0" in data[:_SNIFF]:
            return _Seen(key, kind, note="binary")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return _Seen(key, kind, note="binary")
        if self._kept + len(data) > self.limits.kept_bytes:
            return _Seen(key, kind, note="not kept for diffing: the workspace holds too much text")
        return _Seen(key, kind, text=text)

    def _remember(self, path: str, seen: _Seen) -> None:
        self._seen[path] = seen
        self._kept += len(seen.text.encode("utf-8")) if seen.text is not None else 0

    def _forget(self, path: str) -> None:
        old = self._seen.pop(path, None)
        if old is not None and old.text is not None:
            self._kept -= len(old.text.encode("utf-8"))

    def _entry(self, path: str, change: str, old: _Seen | None, new: _Seen | None) -> dict | None:
        """One file's record; None when a modified file's content is the same."""
        size = new.key[0] if new is not None else None
        entry: dict[str, Any] = {"path": path, "change": change, "size": size, "diff": None,
                                 "note": None}
        for seen in (new, old):
            if seen is not None and seen.kind == "link":
                entry["note"] = f"symbolic link to {seen.target}"
                if old is not None and new is not None and old.kind == new.kind == "link" \
                        and old.target == new.target:
                    return None
                return entry
        old_text = old.text if old is not None else ""
        new_text = new.text if new is not None else ""
        if old_text is None or new_text is None:
            if new is not None and new.text is None:
                entry["note"] = new.note
            elif old is not None:  # text now but not before, or deleted
                entry["note"] = old.note if new is None else f"was {old.note}"
            return entry
        if change == "modified" and old_text == new_text:
            return None
        entry["diff"] = unified_diff(path, old_text, new_text, change)
        return entry


def unified_diff(path: str, old: str, new: str, change: str = "modified") -> str:
    """The unified diff of one file (``/dev/null`` on the missing side of an addition or a
    deletion), ending in a newline."""
    before = f"a/{path}" if change != "added" else "/dev/null"
    after = f"b/{path}" if change != "deleted" else "/dev/null"
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=before, tofile=after, n=3)
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _parent_at(root: Path, path: str) -> tuple[int, str]:
    """The folder holding ``path`` (relative to ``root``) opened one component at a time without
    following links, and the last component's name."""
    *folders, name = path.split("/")
    fd = os.open(root, _DIR_FLAGS)
    try:
        for folder in folders:
            child = os.open(folder, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError:
        os.close(fd)
        raise
    return fd, name


def _readlink_at(root: Path, path: str) -> str:
    try:
        parent, name = _parent_at(root, path)
    except OSError:
        return "?"
    try:
        return os.readlink(name, dir_fd=parent)
    except OSError:
        return "?"
    finally:
        os.close(parent)


def _read_regular(root: Path, path: str, limit: int) -> bytes | None:
    """At most ``limit`` bytes of the regular file at ``path`` under ``root``, no component
    followed through a link (None if it is not a regular file with one link, or cannot be read:
    a hard link could name a file the agent could not read itself)."""
    try:
        parent, name = _parent_at(root, path)
    except OSError:
        return None
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
    except OSError:  # a link put in its place (ELOOP), gone...
        return None
    finally:
        os.close(parent)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            return None
        chunks, left = [], limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.0f} {unit}"
        value /= 1024
    return f"{n} bytes"
