"""The rule of every test run in this repository, ``tests/`` and each plugin's ``tests/`` alike:
under CI no test passes by skipping.

With ``MLGYM_NO_SKIPS=1`` (``./dev test`` sets it), or with ``CI`` set and ``MLGYM_NO_SKIPS``
not ``0``, a test that skips -- ``pytest.skip``, a ``skipif`` mark, an ``importorskip``, a sandbox
backend that does not work here -- fails instead, unless ``tests/skips.yaml`` lists it with the
reason it may skip (a test that needs a GPU, say). Elsewhere skips stay skips.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pytest
import yaml

ALLOWLIST = Path(__file__).resolve().parent / "tests" / "skips.yaml"


def no_skips() -> bool:
    """Whether an unlisted skip fails this run."""
    value = os.environ.get("MLGYM_NO_SKIPS")
    if value is not None:
        return value not in ("", "0")
    return bool(os.environ.get("CI"))


@functools.cache
def allowlist() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The entries of ``tests/skips.yaml``: node-id patterns (``*`` matches anything) and why."""
    entries = yaml.safe_load(ALLOWLIST.read_text()) or []
    found = []
    for i, entry in enumerate(entries):
        if not (isinstance(entry, dict) and set(entry) == {"test", "reason"}
                and all(isinstance(entry[k], str) and entry[k].strip() for k in entry)):
            raise pytest.UsageError(f"{ALLOWLIST}: entry {i} must be a mapping of a non-empty "
                                    f"`test` (node id pattern) and `reason`, not {entry!r}")
        pattern = ".*".join(re.escape(part) for part in entry["test"].split("*"))
        found.append((re.compile(pattern + r"\Z"), entry["reason"]))
    return tuple(found)


def _forbid_unlisted_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not no_skips():
        return
    if any(pattern.match(report.nodeid) for pattern, _ in allowlist()):
        return
    longrepr = report.longrepr
    why = (longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)).removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (
        f"{report.nodeid} skipped ({why}), and unlisted skips fail this run "
        f"(MLGYM_NO_SKIPS / CI). Remove the cause; or, if the test may not run on such a "
        f"machine, list it in {ALLOWLIST.relative_to(ALLOWLIST.parents[1])} with the reason:\n"
        f"- test: {report.nodeid.split('[')[0]}*\n  reason: <why it cannot run here>")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    _forbid_unlisted_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    _forbid_unlisted_skip(report)
    return report
