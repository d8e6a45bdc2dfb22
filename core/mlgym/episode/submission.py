"""What the evaluator reads of the workspace: a snapshot of the declared files, regular files only.

The evaluator never sees the live workspace. Before each evaluation the files the task declares
(``submission.files`` in ``task.yaml``; a folder stands for the regular files below it) are copied
into a fresh folder, which the evaluator gets at the workspace's path. Copying walks every path
component without following a symbolic link (``O_NOFOLLOW`` at each step, relative to the folder
above), so a link, a hard link to a file elsewhere, a FIFO, a socket or a device is refused
before the evaluator starts, and so is a submission larger than the task allows: the evaluation
then fails with a message naming the file. A declared file that does not exist is left out, and
the evaluator reports it as missing.

A player (the agent's code that an evaluator calls) gets :func:`player_view` of the workspace
instead: every regular file (hard-linked, not copied), folder and symbolic link, but no socket,
FIFO or device, through which it could reach a process of the agent's.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class SubmissionError(Exception):
    """A declared submission file cannot be handed to the evaluator (message for the agent)."""


def snapshot(workspace: Path, declared: Sequence[str], destination: Path, *,
             max_bytes: int = DEFAULT_MAX_BYTES) -> list[str]:
    """Copy the ``declared`` files of ``workspace`` into ``destination``; return what was copied.

    Raises :class:`SubmissionError` for anything that is not a plain file of the workspace, or
    when the copies would exceed ``max_bytes`` in total.
    """
    destination.mkdir(parents=True, exist_ok=True)
    budget = [max_bytes]
    copied: list[str] = []
    root = os.open(workspace, _DIR_FLAGS)
    try:
        for entry in declared:
            parts = _parts(entry)
            copied += _copy_entry(root, parts, destination, budget, max_bytes)
    finally:
        os.close(root)
    return copied


def _parts(entry: str) -> list[str]:
    path = PurePosixPath(entry)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise SubmissionError(f"the task declares the submission file {entry!r}, which is not "
                              "a path inside the workspace")
    return list(path.parts)


def _copy_entry(root: int, parts: list[str], destination: Path, budget: list[int],
                max_bytes: int) -> list[str]:
    name = "/".join(parts)
    try:
        with _walk(root, parts[:-1], name) as parent:
            info = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                return _copy_tree(parent, parts[-1], name, destination, budget, max_bytes)
            _copy_file(parent, parts[-1], name, destination / name, budget, max_bytes)
            return [name]
    except FileNotFoundError:
        return []


@contextlib.contextmanager
def _walk(root: int, folders: list[str], name: str) -> Iterator[int]:
    """A descriptor of the folder ``folders`` below ``root``, reached without following links."""
    fds = []
    fd = root
    try:
        for folder in folders:
            try:
                fd = os.open(folder, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise SubmissionError(f"{name}: {folder} is a symbolic link or not a folder; "
                                          "the evaluator reads only files inside the workspace"
                                          ) from None
                raise
            fds.append(fd)
        yield fd
    finally:
        for opened in fds:
            os.close(opened)


def _copy_tree(parent: int, folder: str, name: str, destination: Path, budget: list[int],
               max_bytes: int) -> list[str]:
    copied = []
    fd = os.open(folder, _DIR_FLAGS, dir_fd=parent)
    try:
        for entry in sorted(os.listdir(fd)):
            info = os.stat(entry, dir_fd=fd, follow_symlinks=False)
            inner = f"{name}/{entry}"
            if stat.S_ISDIR(info.st_mode):
                copied += _copy_tree(fd, entry, inner, destination, budget, max_bytes)
            elif stat.S_ISREG(info.st_mode):
                _copy_file(fd, entry, inner, destination / inner, budget, max_bytes)
                copied.append(inner)
            # links, FIFOs, sockets and devices inside a declared folder are left out
    finally:
        os.close(fd)
    return copied


def _copy_file(parent: int, entry: str, name: str, target: Path, budget: list[int],
               max_bytes: int) -> None:
    _refuse_special(os.stat(entry, dir_fd=parent, follow_symlinks=False).st_mode, name)
    try:  # nothing special is opened: the check above, and O_NOFOLLOW if it changed since
        fd = os.open(entry, _FILE_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _refuse_special(stat.S_IFLNK, name)
        raise SubmissionError(f"{name} cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        _refuse_special(info.st_mode, name)
        if info.st_nlink != 1:
            raise SubmissionError(f"{name} has {info.st_nlink} hard links; the evaluator reads "
                                  "only files with one name: copy it instead of linking it")
        if info.st_size > budget[0]:
            raise SubmissionError(f"{name} is {info.st_size} bytes, more than the "
                                  f"{max_bytes} bytes the task allows for the submission")
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            while chunk := os.read(fd, min(_CHUNK, budget[0] + 1)):
                budget[0] -= len(chunk)
                if budget[0] < 0:  # it grew while being read
                    raise SubmissionError(f"{name} is larger than the {max_bytes} bytes the "
                                          "task allows for the submission")
                out.write(chunk)
        target.chmod(0o644)
    finally:
        os.close(fd)


def _refuse_special(mode: int, name: str) -> None:
    if stat.S_ISLNK(mode):
        raise SubmissionError(f"{name} is a symbolic link; the evaluator reads only regular "
                              "files of the workspace: replace it by the file itself")
    if not stat.S_ISREG(mode):
        raise SubmissionError(f"{name} is not a regular file (it is a {_kind(mode)}); the "
                              "evaluator reads only regular files")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISDIR(mode):
        return "folder"
    return "special file"


def player_view(workspace: Path, destination: Path, *, max_entries: int = 500_000) -> int:
    """The workspace as a player sees it: its folders, regular files (hard links, so nothing is
    copied; a copy where linking fails) and symbolic links, but no socket, FIFO or device.

    A player gets this instead of the live workspace, so that it cannot reach a process of the
    agent's through a socket or a FIFO the agent left there. Folders are opened without following
    links, relative to their parent, so a folder swapped for a link while this runs is not
    entered. Returns the number of entries.
    """
    destination.mkdir(mode=0o755)
    count = 0
    stack = [(os.open(workspace, _DIR_FLAGS), destination)]
    try:
        while stack:
            fd, target = stack.pop()
            try:
                for name in os.listdir(fd):
                    count += 1
                    if count > max_entries:
                        raise SubmissionError(f"the workspace holds more than {max_entries} "
                                              "files and folders; remove some and evaluate again")
                    child = _view_entry(fd, name, target / name)
                    if child is not None:
                        stack.append((child, target / name))
            finally:
                os.close(fd)
    finally:
        for fd, _ in stack:
            os.close(fd)
    return count


def _view_entry(parent: int, name: str, target: Path) -> int | None:
    """Put ``name`` (below the folder ``parent``) into the view at ``target``; a folder's
    descriptor when it is one, to be walked."""
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except OSError:  # swapped for something else meanwhile
            return None
        target.mkdir()
        target.chmod(stat.S_IMODE(info.st_mode))
        return fd
    if stat.S_ISLNK(info.st_mode):
        with contextlib.suppress(OSError):
            os.symlink(os.readlink(name, dir_fd=parent), target)
    elif stat.S_ISREG(info.st_mode):
        try:
            os.link(name, target, src_dir_fd=parent, follow_symlinks=False)
        except OSError:
            _copy_regular(parent, name, target)
    return None


def _copy_regular(parent: int, name: str, target: Path) -> None:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
    except OSError:
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return
        with open(target, "wb") as out:
            while chunk := os.read(fd, _CHUNK):
                out.write(chunk)
        target.chmod(stat.S_IMODE(info.st_mode))
    finally:
        os.close(fd)
