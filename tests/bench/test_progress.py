"""The run's live display: a block redrawn in place on a terminal, plain lines in a log."""

from __future__ import annotations

import io

from mlgym.bench.progress import BenchProgress, Snapshot

SNAPSHOT = Snapshot(done=4, failed=1, running={"blotto__baseline__seed0": 0.25}, left=3,
                    cost=0.5, cost_limit=2.0, elapsed=60, finished_here=5, parallel=2)


def test_on_a_terminal_the_block_is_redrawn_in_place():
    out = io.StringIO()
    progress = BenchProgress(stream=out, live=True)
    progress.update(SNAPSHOT, force=True)
    progress.line("done     blotto__baseline__seed0: submitted")
    text = out.getvalue()
    first, rest = text.split("\x1b[2F\x1b[J")  # back up over the two lines drawn, clear them
    assert first == ("4 done, 1 running, 1 failed, 3 left | $0.5000 of $2.00 | 0:01:00 elapsed, "
                     "ETA 0:00:42\n  running blotto__baseline__seed0  $0.2500\n")
    assert rest == "done     blotto__baseline__seed0: submitted\n"


def test_in_a_log_there_are_plain_lines_only():
    out = io.StringIO()
    progress = BenchProgress(stream=out, live=False)
    progress.update(SNAPSHOT, force=True)
    progress.update(SNAPSHOT)  # within the interval: nothing more
    assert "\x1b" not in out.getvalue()
    assert out.getvalue().count("\n") == 1 and out.getvalue().startswith("4 done, 1 running")
