"""What a benchmark run shows while it runs.

On a terminal, a block of lines redrawn in place: episodes done, running, failed and left, the
cost so far against the limit, the time and an ETA, and the episodes running now. Otherwise
(a log file, CI) plain lines: one per episode that ends, and a summary line now and then.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any

PLAIN_SUMMARY_EVERY = 30.0  # seconds between summary lines when not on a terminal
REDRAW_EVERY = 0.5


@dataclass
class Snapshot:
    """The run at one moment, as the scheduler sees it."""

    done: int
    failed: int
    running: dict[str, float]  # key -> cost so far
    left: int  # pending, not running
    cost: float
    cost_limit: float | None
    elapsed: float  # seconds, this process
    finished_here: int  # episodes that ended in this process (for the ETA)
    parallel: int
    notes: list[str] = field(default_factory=list)

    @property
    def eta(self) -> float | None:
        if not self.finished_here or not (self.left or self.running):
            return None
        per_episode = self.elapsed / self.finished_here
        return per_episode * (self.left + len(self.running) / 2)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def summary_line(s: Snapshot) -> str:
    limit = f" of ${s.cost_limit:.2f}" if s.cost_limit is not None else ""
    return (f"{s.done} done, {len(s.running)} running, {s.failed} failed, {s.left} left | "
            f"${s.cost:.4f}{limit} | {_duration(s.elapsed)} elapsed, ETA {_duration(s.eta)}")


class BenchProgress:
    """The live display (``live``: default when ``stream`` is a terminal) or plain lines."""

    def __init__(self, stream: Any = None, live: bool | None = None, quiet: bool = False):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.quiet = quiet
        self._drawn = 0  # lines of the live block on screen
        self._last = 0.0

    def line(self, text: str) -> None:
        """A line that stays (an episode ended, a note)."""
        if self.quiet:
            return
        self._erase()
        self.stream.write(text + "\n")
        self.stream.flush()

    def update(self, snapshot: Snapshot, force: bool = False) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        every = REDRAW_EVERY if self.live else PLAIN_SUMMARY_EVERY
        if not force and now - self._last < every:
            return
        self._last = now
        if not self.live:
            self.stream.write(summary_line(snapshot) + "\n")
            self.stream.flush()
            return
        width = shutil.get_terminal_size((100, 20)).columns - 1
        lines = [summary_line(snapshot)]
        for key, cost in sorted(snapshot.running.items())[:10]:
            lines.append(f"  running {key}  ${cost:.4f}")
        if len(snapshot.running) > 10:
            lines.append(f"  ... and {len(snapshot.running) - 10} more")
        self._erase()
        self.stream.write("".join(line[:width] + "\n" for line in lines))
        self.stream.flush()
        self._drawn = len(lines)

    def _erase(self) -> None:
        if self.live and self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")  # up to the block's start, clear below
            self._drawn = 0

    def close(self) -> None:
        self._erase()
