"""The shell engine: one persistent bash driven over a pipe pair, shared by every backend.

Protocol. Each command is sent as a quoted string that the shell ``eval``s with stdin from
``/dev/null`` (interactive programs get end-of-file instead of hanging), followed by a line that
prints a sentinel (a random token, a sequence number and ``$?``). Output is read with
``select``/``os.read`` until that sentinel: no sleeps, no polling delays. Because the command runs
in the shell itself, ``cd``, variables, functions and ``source venv/bin/activate`` persist.

bash runs as an *interactive* shell (``-i``, no line editing, no prompt, no history) for one
reason: an interactive bash that receives SIGINT outside a wait abandons the whole command line
it is running, loops and lists included, and goes back to reading input. Every command line
installs a ``SIGUSR1`` trap that resets SIGINT to that default and sends it to the shell itself.
A timeout therefore

1. sends SIGUSR1 to the shell, then SIGINT to every process the command started; the trap runs
   as soon as the shell is between two commands (the running child gone), so nothing after the
   killed part of the line starts;
2. then, until the sentinel shows up or a short grace period ends, SIGKILLs whatever the command
   started (found through the host's ``/proc`` by the backend, daemonised children included);
3. and if the shell still does not answer (the command replaced the trap and keeps bash busy),
   kills the whole sandbox shell and starts a new one (``restarted=True``; shell state is lost).

A shell that dies (``exit``, ``kill -9 $$``, out of memory) is noticed by end-of-file or by its
process exiting, and is started again before the command returns (``restarted=True``).

Output is captured as bytes up to a cap (head and tail kept, the middle dropped and counted),
decoded with invalid bytes replaced, and carriage-return progress collapsed to what a terminal
would finally show on each line.
"""

from __future__ import annotations

import os
import re
import secrets
import select
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from mlgym.errors import SandboxError
from mlgym.sandbox import procs
from mlgym.sandbox.base import CommandResult

DEFAULT_CAPTURE_LIMIT = 4 * 1024 * 1024
START_TIMEOUT = 60.0
INTERRUPT_GRACE = 3.0
BASH_ARGV = ["bash", "--noprofile", "--norc", "--noediting", "-i"]
# No prompt, ever: PROMPT_COMMAND clears the prompts even after `source venv/bin/activate` or
# an agent's own PS1, since an interactive bash prints PS1 before it reads each line.
_SETUP = ("\\builtin set +o history +H +m; \\builtin unset HISTFILE; "
          "PROMPT_COMMAND='PS1=;PS2=;PS0='; PS1=''; PS2=''; PS0=''; "
          "\\builtin export VIRTUAL_ENV_DISABLE_PROMPT=1\n")
# See the module docstring. bash honours a SIGINT that comes while it waits for a child only if
# the child died of SIGINT too, hence the trap; it acts only while the line runs (__mlgym_busy):
# a SIGINT that strikes bash while it reads its next line corrupts its input.
ABANDON_SIGNAL = signal.SIGUSR1
_ABANDON_TRAP = ("\\builtin trap '[[ -z ${__mlgym_busy-} ]] || "
                 "{ \\builtin trap - INT; \\builtin kill -INT $$; }' USR1")


class ShellProcess(ABC):
    """A started bash, as a backend provides it: a byte pipe pair plus process control."""

    @abstractmethod
    def read_fileno(self) -> int:
        """A descriptor that ``select`` reports readable when :meth:`read` has something."""

    @abstractmethod
    def write_fileno(self) -> int:
        """A non-blocking descriptor ``select`` reports writable when :meth:`write` can proceed."""

    @abstractmethod
    def read(self) -> bytes | None:
        """Output bytes available now (stdout and stderr together); ``None`` at end of file."""

    @abstractmethod
    def write(self, data: bytes | memoryview) -> int:
        """Write some of ``data`` without blocking; return how many bytes were taken."""

    @abstractmethod
    def alive(self) -> bool:
        """Whether the bash process still runs."""

    @abstractmethod
    def command_pids(self, since: int) -> list[int]:
        """Host pids of the processes in this shell's sandbox started at or after ``since``
        (see :func:`mlgym.sandbox.procs.now_ticks`), except the shell and the sandbox's init."""

    @abstractmethod
    def signal_shell(self, sig: int) -> None:
        """Send ``sig`` to the bash process itself."""

    def signal(self, pids: list[int], sig: int) -> None:
        """Send ``sig`` to host ``pids``."""
        procs.send(pids, sig)

    @abstractmethod
    def kill(self) -> None:
        """Kill the shell and every process it left; release what it held. Idempotent."""


def collapse_carriage_returns(text: str) -> str:
    """What a terminal would finally show: on each line, text after a ``\\r`` overwrites the
    line from its start (``"50%\\r100%"`` becomes ``"100%"``). ``\\r\\n`` is a plain newline."""
    if "\r" not in text:
        return text
    lines = text.replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        if "\r" in line:
            shown = ""
            for part in line.split("\r"):
                shown = part + shown[len(part):]
            lines[i] = shown
    return "\n".join(lines)


_ESCAPES = [chr(b) if 0x20 <= b < 0x7F and b not in (0x27, 0x5C) else f"\\x{b:02x}"
            for b in range(256)]


def bash_quote(command: str) -> str:
    """``command`` as a bash ``$'...'`` word holding exactly its UTF-8 bytes (NULs removed)."""
    data = command.encode("utf-8", "replace").replace(b"\0", b"")
    return "$'" + "".join([_ESCAPES[b] for b in data]) + "'"


# an interactive bash without a terminal says this whenever a job dies by a signal
_TTY_NOISE = re.compile(r"^bash: \[\d+: \d+ \(\d+\)\] tcsetattr: Inappropriate ioctl for device\n",
                        re.MULTILINE)


class OutputCapture:
    """Output bytes up to ``limit``: the first and last halves are kept, the middle counted."""

    def __init__(self, limit: int):
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            excess = len(self.tail) - self.half
            if excess > self.half:  # trim in big steps so appending stays cheap
                del self.tail[:excess]
                self.dropped += excess

    def text(self) -> tuple[str, int]:
        excess = len(self.tail) - self.half
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess
        if self.dropped:
            raw = (bytes(self.head) + f"\n[... {self.dropped} bytes of output dropped ...]\n"
                   .encode() + bytes(self.tail))
        else:
            raw = bytes(self.head + self.tail)
        text = _TTY_NOISE.sub("", raw.decode("utf-8", "replace"))
        return collapse_carriage_returns(text), self.dropped


class Shell:
    """A persistent bash session on top of a :class:`ShellProcess` from ``launch``.

    ``recover``, if given, is called once when a shell does not come up (for example a container
    whose memory is full of tmpfs files): it repairs the sandbox and returns a note for the
    agent, which the next command's output carries; then the start is tried again."""

    def __init__(self, launch: Callable[[], ShellProcess], *,
                 capture_limit: int = DEFAULT_CAPTURE_LIMIT, setup: str = "",
                 recover: Callable[[], str] | None = None):
        self._launch = launch
        self._recover = recover
        self._notice = ""
        self._capture_limit = capture_limit
        self._setup = setup  # extra lines run once after each (re)start, e.g. ``cd``
        self._proc: ShellProcess | None = None
        token = secrets.token_hex(8)
        self._token_parts = (f"__MLGYM_{token[:8]}", f"{token[8:]}__")
        self._token = "".join(self._token_parts)
        self._seq = 0
        self._hold = b""
        self._leftover = b""
        self.restarts = 0

    @property
    def process(self) -> ShellProcess | None:
        return self._proc

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start bash and wait until it answers (see ``recover`` in the class docstring)."""
        try:
            self._start_once()
        except SandboxError:
            if self._recover is None:
                raise
            self._notice = self._recover()
            self._start_once()

    def _start_once(self) -> None:
        self._proc = self._launch()
        self._seq += 1
        self._hold = b""
        payload = (_SETUP + self._setup + "\n" + self._sentinel_line(self._seq)).encode()
        capture = OutputCapture(64 * 1024)
        state, _ = self._exchange(payload, self._seq, capture, time.monotonic() + START_TIMEOUT)
        if state != "done":
            text, _ = capture.text()
            self._proc.kill()
            self._proc = None
            reason = "did not answer in time" if state == "timeout" else "exited at once"
            raise SandboxError(f"the sandbox shell {reason}; its output was:\n{text[-4000:]}")
        self._leftover = b""  # start-up noise (job-control warnings, the first prompt)

    def restart(self) -> None:
        """Kill the shell and everything it started, then start a fresh one."""
        if self._proc is not None:
            self._proc.kill()
            self._proc = None
        self.restarts += 1
        self.start()

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc = None

    # -- commands -----------------------------------------------------------------------------

    def run(self, command: str, timeout: float | None) -> CommandResult:
        """Run ``command``; see the module docstring for the timeout and restart rules."""
        started = time.perf_counter()
        restarted = False
        if self._proc is None or not self._proc.alive():
            self.restart()
            restarted = True
        self._seq += 1
        seq = self._seq
        payload = (f"{_ABANDON_TRAP}; __mlgym_busy=1; __mlgym_cmd={bash_quote(command)}; "
                   "\\builtin eval \"$__mlgym_cmd\" </dev/null; __mlgym_rc=$? __mlgym_busy=\n"
                   f"{self._sentinel_line(seq)}").encode()
        capture = OutputCapture(self._capture_limit)
        capture.add(self._leftover)  # output that background jobs printed between commands
        self._leftover = b""
        since = procs.now_ticks()
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        state, code = self._exchange(payload, seq, capture, deadline)
        timed_out = state == "timeout"
        if timed_out:
            code = None
            if not (self._interrupt(seq, since, capture) and self._resync()):
                self._drain_hold(capture)
                self.restart()
                restarted = True
        elif state == "died":
            code = None
            self.restart()
            restarted = True
        if self._notice:
            capture.add(f"\n{self._notice}\n".encode())
            self._notice = ""
        output, dropped = capture.text()
        return CommandResult(output=output, exit_code=code,
                             duration=time.perf_counter() - started, timed_out=timed_out,
                             restarted=restarted, truncated_bytes=dropped)

    def _sentinel_line(self, seq: int) -> str:
        a, b = self._token_parts  # printed in two parts so `set -x` traces do not contain it
        return (f"\\builtin printf '%s%s_{seq}_%d\\n' {a} {b} \"${{__mlgym_rc:-$?}}\"; "
                "\\builtin unset __mlgym_cmd __mlgym_rc __mlgym_busy\n")

    def _exchange(self, payload: bytes, seq: int, capture: OutputCapture,
                  deadline: float | None) -> tuple[str, int | None]:
        """Send ``payload`` and read until the sentinel of ``seq``.

        Returns ("done", exit code), ("died", None) or ("timeout", None)."""
        proc = self._proc
        assert proc is not None
        marker = f"{self._token}_{seq}_".encode()
        pending = memoryview(payload)
        rfd, wfd = proc.read_fileno(), proc.write_fileno()
        while True:
            wait = 0.1 if deadline is None else min(deadline - time.monotonic(), 0.1)
            if wait <= 0:
                return "timeout", None
            readable, writable, _ = select.select([rfd], [wfd] if pending else [], [], wait)
            if writable:
                try:
                    pending = pending[proc.write(pending):]
                except (BrokenPipeError, ConnectionError, OSError):
                    return "died", None
            if readable:
                chunk = proc.read()
                if chunk is None:
                    self._drain_hold(capture)
                    return "died", None
                code = self._feed(chunk, marker, capture)
                if code is not None:
                    return "done", code
            elif not writable and not proc.alive():
                self._drain_hold(capture)
                return "died", None

    def _feed(self, chunk: bytes, marker: bytes, capture: OutputCapture) -> int | None:
        """Add ``chunk`` to the output; return the exit code once the sentinel is complete.
        Sentinels of other sequence numbers (late answers to resync probes) are dropped."""
        data = self._hold + chunk if self._hold else chunk
        token = self._token.encode()
        half = self._token_parts[0].encode()
        while (at := data.find(token)) >= 0:
            before = data[:at]
            # after a syntax error in the command (an unclosed quote) bash prints the first half
            # of the sentinel once more just before the sentinel: it is ours, not the command's
            capture.add(before[:-len(half)] if before.endswith(half) else before)
            end = data.find(b"\n", at)
            if end < 0:  # the sentinel line is not complete yet
                self._hold = data[at:]
                return None
            if data.startswith(marker, at):
                self._hold = b""
                self._leftover = data[end + 1:]
                return int(data[at + len(marker):end])
            data = data[end + 1:]
        keep = len(token) - 1  # a sentinel may be split across reads
        capture.add(data[:-keep] if len(data) > keep else b"")
        self._hold = data[-keep:] if len(data) > keep else data
        return None

    def _drain_hold(self, capture: OutputCapture) -> None:
        capture.add(self._hold)
        self._hold = b""

    def _resync(self) -> bool:
        """After an interrupt bash may still hold a pending SIGINT that would swallow the next
        line it reads: send bare sentinels until one comes back."""
        for _ in range(5):
            self._seq += 1
            scratch = OutputCapture(64 * 1024)
            state, _ = self._exchange(self._sentinel_line(self._seq).encode(), self._seq, scratch,
                                      time.monotonic() + 0.5)
            if state == "done":
                return True
            if state == "died":
                return False
        return False

    def _interrupt(self, seq: int, since: int, capture: OutputCapture) -> bool:
        """Stop the timed-out command and the rest of its line; True if the shell came back."""
        proc = self._proc
        assert proc is not None
        proc.signal_shell(ABANDON_SIGNAL)  # first, so nothing after the killed part starts
        proc.signal(proc.command_pids(since), signal.SIGINT)
        state, _ = self._exchange(b"", seq, capture, time.monotonic() + 0.2)
        end = time.monotonic() + INTERRUPT_GRACE
        while state == "timeout" and time.monotonic() < end:
            proc.signal(proc.command_pids(since), signal.SIGKILL)
            state, _ = self._exchange(b"", seq, capture, time.monotonic() + 0.1)
        # what the command left in the background (SIGINT is ignored by background jobs)
        left = proc.command_pids(since)
        proc.signal(left, signal.SIGKILL)
        procs.wait_gone(left, timeout=2.0)
        return state == "done"


class PipeShellProcess(ShellProcess):
    """A bash started as a host subprocess with pipes (the ``local`` and ``bwrap`` backends)."""

    def __init__(self, popen, shell_pid: int | None = None):
        self.popen = popen
        self.shell_pid = shell_pid if shell_pid is not None else popen.pid
        self._rfd = popen.stdout.fileno()
        self._wfd = popen.stdin.fileno()
        os.set_blocking(self._wfd, False)
        os.set_blocking(self._rfd, False)

    def read_fileno(self) -> int:
        return self._rfd

    def write_fileno(self) -> int:
        return self._wfd

    def read(self) -> bytes | None:
        try:
            data = os.read(self._rfd, 1 << 16)
        except BlockingIOError:
            return b""
        return data or None

    def write(self, data: bytes | memoryview) -> int:
        try:
            return os.write(self._wfd, data)
        except BlockingIOError:
            return 0

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_shell(self, sig: int) -> None:
        procs.send([self.shell_pid], sig)

    def close_pipes(self) -> None:
        for stream in (self.popen.stdin, self.popen.stdout):
            try:
                stream.close()
            except OSError:
                pass
