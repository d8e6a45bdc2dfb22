"""The results store of a benchmark run: one SQLite database (WAL) in the run's folder.

One row per episode with its state, ``pending`` -> ``running`` -> ``done`` or ``failed``, what it
spent, and its result record once it ends; every change of state is one transaction, so a
``kill -9`` at any moment leaves each row either before or after it. An episode that was
interrupted (Ctrl-C, or its run killed) goes back to ``pending`` with its attempts counted and
the folders of its partial trajectories listed, and is run again from the start.

``meta`` holds the run's config, its id and the time it has run so far (total time budgets hold
over resumes). :func:`run_records` is what reports read.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STORE_FILE = "bench.sqlite"
STATES = ("pending", "running", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    key TEXT PRIMARY KEY, position INTEGER NOT NULL, task TEXT NOT NULL, method TEXT NOT NULL,
    seed INTEGER NOT NULL, spec TEXT NOT NULL, compute TEXT NOT NULL, uses_model INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT, started_at REAL, finished_at REAL, cost REAL NOT NULL DEFAULT 0,
    spent_before REAL NOT NULL DEFAULT 0, exit_reason TEXT, result TEXT, error TEXT,
    interrupted TEXT NOT NULL DEFAULT '[]');
"""


@dataclass
class EpisodeRow:
    """One row of the store."""

    key: str
    task: str
    method: str
    seed: int
    spec: dict
    compute: dict
    uses_model: bool
    state: str = "pending"
    attempts: int = 0
    worker: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    cost: float = 0.0  # this attempt's spending (the live figure while it runs)
    spent_before: float = 0.0  # what interrupted attempts spent
    exit_reason: str | None = None
    result: dict | None = None
    error: str | None = None
    interrupted: list[str] = field(default_factory=list)  # folders of partial trajectories

    @property
    def spent(self) -> float:
        """Everything this episode cost, interrupted attempts included."""
        return self.cost + self.spent_before


class RunStore:
    """The store of the run in ``run_dir`` (created with its tables when missing)."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / STORE_FILE
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: safe against kill -9
        self.db.executescript(_SCHEMA)

    @staticmethod
    def is_run(path: str | Path) -> bool:
        """Whether ``path`` is the folder of a benchmark run."""
        return (Path(path) / STORE_FILE).is_file()

    def close(self) -> None:
        self.db.close()

    def _write(self, sql: str, args: Iterable[Any] = ()) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute(sql, tuple(args))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # -- the run -------------------------------------------------------------------------------

    def meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        self._write("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
                    "excluded.value", (key, json.dumps(value)))

    def add_episodes(self, planned: Iterable[Any]) -> int:
        """Add the planned episodes the store does not hold yet; return how many were new."""
        before = self.count()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            start = self.db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM episodes").fetchone()[0]
            for n, e in enumerate(planned):
                self.db.execute(
                    "INSERT OR IGNORE INTO episodes (key, position, task, method, seed, spec, "
                    "compute, uses_model) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (e.key, start + n, e.task, e.method, e.seed, json.dumps(e.spec.to_dict()),
                     json.dumps(e.compute), int(e.uses_model)))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self.count() - before

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0]

    def episodes(self, *states: str) -> list[EpisodeRow]:
        """The rows in run order, only those in ``states`` when given."""
        sql = "SELECT * FROM episodes"
        if states:
            sql += f" WHERE state IN ({', '.join('?' * len(states))})"
        cursor = self.db.execute(sql + " ORDER BY position", states)
        names = [d[0] for d in cursor.description]
        return [_row(dict(zip(names, values, strict=True))) for values in cursor.fetchall()]

    def episode(self, key: str) -> EpisodeRow:
        [row] = [r for r in self.episodes() if r.key == key]
        return row

    def totals(self) -> dict:
        """Episodes per state and what the run spent (interrupted attempts included)."""
        counts = dict.fromkeys(STATES, 0)
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM episodes GROUP BY state"):
            counts[state] = n
        cost = self.db.execute("SELECT COALESCE(SUM(cost + spent_before), 0) FROM episodes").fetchone()[0]
        return {**counts, "total": sum(counts.values()), "cost": cost}

    # -- an episode's life ---------------------------------------------------------------------

    def mark_running(self, key: str, worker: str) -> None:
        self._write("UPDATE episodes SET state = 'running', attempts = attempts + 1, worker = ?, "
                    "started_at = ?, finished_at = NULL, cost = 0, exit_reason = NULL, "
                    "result = NULL, error = NULL WHERE key = ?", (worker, time.time(), key))

    def update_cost(self, key: str, cost: float) -> None:
        self._write("UPDATE episodes SET cost = ? WHERE key = ? AND state = 'running'", (cost, key))

    def mark_finished(self, key: str, result: dict | None, error: str | None = None) -> str:
        """Record the end of an episode: ``failed`` when it ended in an error, else ``done``."""
        exit_reason = (result or {}).get("exit_reason") or "error"
        state = "failed" if exit_reason == "error" or result is None else "done"
        self._write("UPDATE episodes SET state = ?, finished_at = ?, cost = ?, exit_reason = ?, "
                    "result = ?, error = ? WHERE key = ?",
                    (state, time.time(), float((result or {}).get("cost") or 0.0), exit_reason,
                     json.dumps(result) if result is not None else None, error, key))
        return state

    def mark_interrupted(self, key: str, partial: str | None, cost: float | None = None) -> None:
        """Back to ``pending``: the attempt's spending kept, its partial trajectory listed."""
        row = self.episode(key)
        kept = row.interrupted + ([partial] if partial else [])
        spent = row.cost if cost is None else cost
        self._write("UPDATE episodes SET state = 'pending', worker = NULL, finished_at = ?, "
                    "spent_before = spent_before + ?, cost = 0, exit_reason = 'interrupted', "
                    "interrupted = ? WHERE key = ?", (time.time(), spent, json.dumps(kept), key))

    def reset_failed(self) -> int:
        """Make failed episodes pending again (``--retry-failed``); return how many."""
        n = len(self.episodes("failed"))
        self._write("UPDATE episodes SET state = 'pending', spent_before = spent_before + cost, "
                    "cost = 0 WHERE state = 'failed'")
        return n


def _row(data: dict) -> EpisodeRow:
    data["spec"], data["compute"] = json.loads(data["spec"]), json.loads(data["compute"])
    data["result"] = json.loads(data["result"]) if data["result"] else None
    data["interrupted"] = json.loads(data["interrupted"])
    data["uses_model"] = bool(data["uses_model"])
    data.pop("position")
    return EpisodeRow(**data)


def run_records(run_dir: str | Path) -> Iterator[tuple[EpisodeRow, dict | None]]:
    """Each episode of a run with the result record a report reads.

    Done and failed episodes give their record; one that was started but has not ended (it
    runs, or was interrupted and waits to run again) gives the record of its latest partial
    trajectory (exit reason ``interrupted``); one never started gives ``None``.
    """
    store = RunStore(run_dir)
    try:
        rows = store.episodes()
    finally:
        store.close()
    for row in rows:
        record = row.result
        if record is None:
            folders = [Path(run_dir) / p for p in reversed(row.interrupted)]
            if row.state == "running":
                folders.insert(0, Path(run_dir) / "episodes" / row.key)
            for folder in folders:
                try:
                    record = json.loads((folder / "result.json").read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                record["exit_reason"] = "interrupted"
                break
        yield row, record
