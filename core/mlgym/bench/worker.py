"""``python -m mlgym.bench.worker``: one episode of a benchmark run, in a process of its own.

The local executor starts one per episode. The worker reads the episode's
:class:`~mlgym.agents.launch.EpisodeSpec` as JSON on stdin, runs it, and reports on stdout, one
JSON object a line: ``{"event": "started"}`` once the sandbox is up, ``{"event": "step",
"cost": ...}`` after each step, ``{"event": "finished", "exit_reason": ...}`` at the end, or
``{"event": "error", "error": ...}`` when the episode could not even be built. Notes go to
stderr, which the executor keeps as the episode's log.

SIGINT and SIGTERM stop the episode as Ctrl-C does (the sandbox is closed, the trajectory so far
saved), and so does the death of the process that started the worker (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import traceback
from typing import Any

from mlgym.agents.launch import EpisodeSpec, run_episode_from_spec
from mlgym.agents.runner import ProgressView

PR_SET_PDEATHSIG = 1


class EventProgress(ProgressView):
    """Progress of the episode as JSON events on ``events``; notes on stderr."""

    def __init__(self, events: Any):
        super().__init__(stream=sys.stderr, live=False)
        self.events = events

    def emit(self, **event: Any) -> None:
        self.events.write(json.dumps(event) + "\n")
        self.events.flush()

    def start(self, trajectory: dict, max_steps: int | None) -> None:
        super().start(trajectory, max_steps)
        self.emit(event="started")

    def step(self, step: dict, info: dict, task: Any) -> None:
        super().step(step, info, task)
        self.emit(event="step", step=step["step"], cost=float(info.get("cost") or 0.0))


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def _die_with_parent(parent: int) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the executor stops its workers itself
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        raise KeyboardInterrupt


def main() -> int:
    events = sys.stdout
    sys.stdout = sys.stderr  # anything else printed goes to the log, not the event stream
    progress = EventProgress(events)
    try:
        _die_with_parent(int(os.environ.get("MLGYM_BENCH_PARENT", os.getppid())))
        spec = EpisodeSpec.from_dict(json.loads(sys.stdin.read()))
        launched = run_episode_from_spec(spec, progress)
    except KeyboardInterrupt:
        progress.emit(event="error", error="interrupted")
        return 130
    except Exception as exc:
        traceback.print_exc()
        progress.emit(event="error", error=f"{type(exc).__name__}: {exc}")
        return 1
    progress.emit(event="finished", exit_reason=launched.trajectory["exit_reason"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
