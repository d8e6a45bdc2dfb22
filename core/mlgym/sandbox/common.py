"""Pieces the host-process backends (``local``, ``bwrap``) share: which Python the sandbox sees,
running a one-shot process with separate stdout/stderr, a timeout and a tree kill, and a player
process whose output is kept, bounded."""

from __future__ import annotations

import os
import select
import signal
import site
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mlgym.errors import ConfigError
from mlgym.sandbox.base import CommandResult, PlayerProcess, SandboxConfig
from mlgym.sandbox.shell import DEFAULT_CAPTURE_LIMIT, OutputCapture

PLAYER_OUTPUT_LIMIT = 64 * 1024  # bytes of a player's stderr kept (first and last halves)
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

# bubblewrap's --die-with-parent (PR_SET_PDEATHSIG) fires when the *thread* that started it ends,
# so sandboxes are spawned from one thread that lives as long as the process.
_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlgym-spawn")


def spawn(argv: list[str], **popen_kwargs) -> subprocess.Popen:
    """``subprocess.Popen(argv, **popen_kwargs)``, started from a thread that never ends."""
    return _spawner.submit(lambda: subprocess.Popen(argv, **popen_kwargs)).result()


@dataclass
class PythonLayout:
    """Host folders that make the configured Python usable inside a sandbox."""

    prefixes: list[str] = field(default_factory=list)  # to bind read-only at the same path
    bin_dirs: list[str] = field(default_factory=list)  # to put on PATH, first wins
    env: dict[str, str] = field(default_factory=dict)
    # the harness's own site-packages, where task plugins (and their hidden data) are
    # pip-installed: a backend that shows a folder holding one hides it behind an empty tmpfs
    masked: list[str] = field(default_factory=list)


def python_layout(config: SandboxConfig) -> PythonLayout:
    """The task's environment (``config.python``, a venv or a prefix) first, then the
    interpreter MLGym runs on, so that ``python`` works in the sandbox either way."""
    layout = PythonLayout()
    if config.python is not None:
        env_dir = Path(config.python).absolute()
        if not (env_dir / "bin").is_dir():
            raise ConfigError(f"SandboxConfig.python={str(env_dir)!r} has no bin/ folder; give "
                              "the folder of a virtual environment or Python prefix")
        layout.prefixes.append(str(env_dir))
        layout.bin_dirs.append(str(env_dir / "bin"))
        cfg = env_dir / "pyvenv.cfg"
        if cfg.exists():
            layout.env["VIRTUAL_ENV"] = str(env_dir)
            for line in cfg.read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "home" and value.strip():
                    layout.prefixes.append(str(Path(value.strip()).resolve().parent))
    base = str(Path(sys.base_prefix).resolve())
    layout.prefixes.append(base)
    # where plugins are pip-installed for this interpreter: its own site-packages (a virtual
    # environment's, or the prefix's) and those of the interpreter it was made from, whose
    # prefix the sandbox shows; a backend hides each of them that it would show
    harness = site.getsitepackages() + site.getsitepackages([sys.base_prefix])
    layout.masked += dict.fromkeys(str(Path(p).resolve()) for p in harness if Path(p).is_dir())
    layout.bin_dirs.append(str(Path(base) / "bin"))
    # drop prefixes the system folders already show, and duplicates
    seen: list[str] = []
    for p in layout.prefixes:
        if p not in seen and not any(p == s or p.startswith(s + "/") for s in ("/usr", "/bin")):
            seen.append(p)
    layout.prefixes = seen
    return layout


def run_process(argv: list[str], *, env: dict[str, str], cwd: str | None, timeout: float | None,
                kill: Callable[[subprocess.Popen], None] | None = None,
                capture_limit: int = DEFAULT_CAPTURE_LIMIT,
                pass_fds: tuple[int, ...] = ()) -> CommandResult:
    """Run ``argv`` in a new session, stdin closed; stdout goes to ``output``, stderr to
    ``stderr``. On timeout ``kill(popen)`` (default: SIGKILL to the session) ends the tree."""
    started = time.perf_counter()
    popen = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True,
                  pass_fds=pass_fds)
    captures = {popen.stdout.fileno(): OutputCapture(capture_limit),
                popen.stderr.fileno(): OutputCapture(capture_limit)}
    out_fd, err_fd = popen.stdout.fileno(), popen.stderr.fileno()
    open_fds = [out_fd, err_fd]
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = False
    while open_fds:
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and wait <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(open_fds, [], [], wait)
        for fd in ready:
            data = os.read(fd, 1 << 16)
            if data:
                captures[fd].add(data)
            else:
                open_fds.remove(fd)
    if timed_out:
        (kill or _kill_session)(popen)
    try:
        code = popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _kill_session(popen)
        code = popen.wait()
    popen.stdout.close()
    popen.stderr.close()
    out, dropped_out = captures[out_fd].text()
    err, dropped_err = captures[err_fd].text()
    return CommandResult(output=out, exit_code=None if timed_out else code,
                         duration=time.perf_counter() - started, timed_out=timed_out,
                         truncated_bytes=dropped_out + dropped_err, stderr=err)


def _kill_session(popen: subprocess.Popen) -> None:
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class HostPlayer(PlayerProcess):
    """A player that is a host process tree: ``kill(popen)`` ends the tree, ``cleanup()`` then
    removes what its sandbox left (a cgroup)."""

    def __init__(self, argv: list[str], *, env: dict[str, str],
                 kill: Callable[[subprocess.Popen], None] | None = None,
                 cleanup: Callable[[], None] | None = None, cwd: str | None = None):
        self._kill = kill or _kill_session
        self._cleanup = cleanup
        self._capture = OutputCapture(PLAYER_OUTPUT_LIMIT)
        self._popen = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True,
                                         name="mlgym-player-output")
        self._reader.start()
        self._killed = False

    def _read(self) -> None:
        fd = self._popen.stdout.fileno()
        for chunk in iter(lambda: os.read(fd, 1 << 16), b""):
            self._capture.add(chunk)

    def alive(self) -> bool:
        return self._popen.poll() is None

    def kill(self) -> None:
        if self._killed:
            return
        self._killed = True
        try:
            if self._popen.poll() is None:
                self._kill(self._popen)
            self._popen.wait()
            self._reader.join(timeout=5)
            self._popen.stdout.close()
        finally:
            if self._cleanup is not None:
                self._cleanup()

    def stderr(self) -> str:
        return self._capture.text()[0]
