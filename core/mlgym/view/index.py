"""The viewer's index: one row per episode found under the folders it was given.

Episodes come from ``result.json`` files (each beside its ``trajectory.json``, as ``mlgym run``
writes them) and from benchmark stores (a folder holding ``bench.sqlite``, read with
:func:`mlgym.bench.store.run_records`, whose pending and running episodes are listed too). A row
holds what the run list shows: task, method, seed, state, exit reason, best attempt, submission,
cost, steps, time.

The index is built once when the viewer starts and on a refresh. Rows of ``result.json`` files
are cached on disk (``<cache>/view/``) under the file's size and modification time, so opening a
folder of thousands of episodes again reads only the records that changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlgym.errors import ConfigError
from mlgym.scoring.metrics import ResultRecord, TaskInfo

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
TRAJECTORY_FILE = "trajectory.json"
STORE_FILE = "bench.sqlite"
CACHE_VERSION = 1
SORT_KEYS = ("task", "method", "seed", "state", "exit_reason", "best_attempt", "submission",
             "cost", "steps", "duration")
PAGE_SIZE = 50


@dataclass
class EpisodeRow:
    """One episode as the run list shows it."""

    id: str  # stable: a hash of the result file's path (or the store's and the key)
    task: str
    method: str
    seed: int
    state: str
    exit_reason: str | None
    best_attempt: float | None
    submission: float | None
    metric: str | None  # the primary metric the two scores are of
    direction: str | None
    cost: float | None
    steps: int | None
    duration: float | None
    trajectory: str | None  # path of trajectory.json, None when the episode never started
    run: str  # the folder given to the viewer (or the benchmark run) it was found in
    record: dict = field(default_factory=dict, repr=False)  # the result record as read

    def to_json(self) -> dict:
        return asdict(self)


def episode_id(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode("utf-8")).hexdigest()[:12]


class EpisodeIndex:
    """Every episode under ``roots``; :meth:`query` filters, sorts and pages them."""

    def __init__(self, roots: Sequence[str | Path], cache_dir: Path | None = None):
        if not roots:
            raise ConfigError("mlgym view needs at least one results folder")
        self.roots = [Path(r).expanduser().resolve() for r in roots]
        for root in self.roots:
            if not root.exists():
                raise ConfigError(f"results path {root} does not exist")
        self.cache_dir = cache_dir
        self.rows: list[EpisodeRow] = []
        self.by_id: dict[str, EpisodeRow] = {}
        self._tasks: dict[str, TaskInfo | None] = {}
        self._lock = threading.Lock()
        self.problems: list[str] = []

    # -- building -------------------------------------------------------------------------------

    def build(self) -> EpisodeIndex:
        """Find every episode (again); unchanged result files come from the cache."""
        with self._lock:
            rows: list[EpisodeRow] = []
            problems: list[str] = []
            for root in self.roots:
                cache = self._load_cache(root)
                fresh: dict[str, Any] = {}
                rows += self._scan(root, cache, fresh, problems)
                self._save_cache(root, fresh)
            rows.sort(key=lambda r: (r.run, r.task, r.method, r.seed))
            self.rows, self.problems = rows, problems
            self.by_id = {r.id: r for r in rows}
        return self

    def _scan(self, root: Path, cache: dict, fresh: dict, problems: list[str]) -> list[EpisodeRow]:
        if root.is_file():
            return [r for r in [self._result_row(root, root.parent, cache, fresh, problems)] if r]
        rows: list[EpisodeRow] = []
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            dirs.sort()
            if STORE_FILE in files:
                rows += self._store_rows(here, problems)
                dirs.clear()  # the store lists its episodes itself
                continue
            if RESULT_FILE in files:
                row = self._result_row(here / RESULT_FILE, root, cache, fresh, problems)
                if row is not None:
                    rows.append(row)
        return rows

    def _result_row(self, path: Path, root: Path, cache: dict, fresh: dict,
                    problems: list[str]) -> EpisodeRow | None:
        try:
            st = path.stat()
        except OSError:
            return None
        stamp = [st.st_mtime_ns, st.st_size]
        key = str(path)
        hit = cache.get(key)
        if hit is not None and hit.get("stamp") == stamp:
            fresh[key] = hit
            return EpisodeRow(**hit["row"])
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(f"{path}: not readable JSON ({exc})")
            return None
        if not isinstance(record, dict) or "task" not in record:
            return None
        trajectory = path.parent / (record.get("trajectory") or TRAJECTORY_FILE)
        row = self._row(episode_id(key), record, str(root), str(trajectory)
                        if trajectory.is_file() else None, problems, where=key)
        if row is not None:
            fresh[key] = {"stamp": stamp, "row": row.to_json()}
        return row

    def _store_rows(self, run_dir: Path, problems: list[str]) -> list[EpisodeRow]:
        from mlgym.bench.store import run_records

        rows = []
        try:
            pairs = list(run_records(run_dir))
        except Exception as exc:  # a store being written, or of another version
            problems.append(f"{run_dir}: the benchmark store could not be read ({exc})")
            return []
        for row, record in pairs:
            folder = run_dir / "episodes" / row.key
            trajectory = folder / TRAJECTORY_FILE
            if not trajectory.is_file():
                for partial in reversed(row.interrupted):
                    if (run_dir / partial / TRAJECTORY_FILE).is_file():
                        trajectory = run_dir / partial / TRAJECTORY_FILE
                        break
            data = dict(record or {"task": row.task, "method": row.method, "seed": row.seed})
            data["state"] = row.state
            data.setdefault("method", row.method)
            made = self._row(episode_id(str(run_dir), row.key), data, str(run_dir),
                             str(trajectory) if trajectory.is_file() else None, problems,
                             where=f"{run_dir}:{row.key}")
            if made is not None:
                rows.append(made)
        return rows

    def _row(self, row_id: str, record: dict, run: str, trajectory: str | None,
             problems: list[str], where: str) -> EpisodeRow | None:
        try:
            typed = ResultRecord.from_dict(record, where)
        except ConfigError as exc:
            problems.append(str(exc))
            return None
        info = self.task_info(typed.task, record)
        attempt = submission = None
        if info is not None:
            attempt = typed.attempt_score(info, "test")  # both protocols submit on test
            submission = typed.submission_score(info, "test")
        return EpisodeRow(
            id=row_id, task=typed.task, method=typed.method, seed=typed.seed, state=typed.state,
            exit_reason=typed.exit_reason, best_attempt=attempt, submission=submission,
            metric=info.primary_metric if info else None,
            direction=info.direction if info else None, cost=typed.cost, steps=typed.steps,
            duration=typed.duration, trajectory=trajectory, run=run,
            record=record)

    def task_info(self, task_id: str, record: dict | None = None) -> TaskInfo | None:
        """The task's primary metric and direction: from the installed task, else guessed from
        a record's baseline (higher is better) so scores still show."""
        if task_id not in self._tasks:
            info = None
            try:
                from mlgym.plugins.registry import get_registry

                info = TaskInfo.from_spec(get_registry().task(task_id))
            except Exception:
                info = None
            self._tasks[task_id] = info
        info = self._tasks[task_id]
        if info is None and record is not None:
            names = list(record.get("baseline") or {}) or [
                k for e in record.get("evaluations") or [] for k in (e.get("scores") or {})]
            if names:
                return TaskInfo(id=task_id, primary_metric=names[0], direction="maximize",
                                baseline=(record.get("baseline") or {}).get(names[0]),
                                source="guessed")
        return info

    # -- the on-disk cache ----------------------------------------------------------------------

    def _cache_file(self, root: Path) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / f"index-{episode_id(str(root))}.json"

    def _load_cache(self, root: Path) -> dict:
        path = self._cache_file(root)
        if path is None:
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        return data.get("files") or {}

    def _save_cache(self, root: Path, files: dict) -> None:
        path = self._cache_file(root)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": CACHE_VERSION, "root": str(root),
                                       "files": files}), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:  # a read-only cache only costs speed
            log.info("view index cache not written: %s", exc)

    # -- queries --------------------------------------------------------------------------------

    def choices(self, column: str) -> list[str]:
        """The distinct values of a column (for the filter menus)."""
        return sorted({str(getattr(r, column)) for r in self.rows if getattr(r, column) is not None})

    def query(self, *, filters: dict[str, str] | None = None, text: str = "", sort: str = "task",
              descending: bool = False, page: int = 1, page_size: int = PAGE_SIZE,
              ) -> tuple[list[EpisodeRow], list[EpisodeRow], int]:
        """(the rows that match, the page of them to show, the number of pages)."""
        rows: Iterable[EpisodeRow] = self.rows
        for column, value in (filters or {}).items():
            if value:
                rows = [r for r in rows if str(getattr(r, column)) == value]
        if text:
            needle = text.lower()
            rows = [r for r in rows if needle in f"{r.task} {r.method} {r.exit_reason} {r.run}".lower()]
        sort = sort if sort in SORT_KEYS else "task"
        present = [r for r in rows if getattr(r, sort) is not None]
        missing = [r for r in rows if getattr(r, sort) is None]
        present.sort(key=lambda r: (getattr(r, sort), r.task, r.method, r.seed), reverse=descending)
        matched = present + missing  # rows without the value always last
        pages = max(1, -(-len(matched) // page_size))
        page = min(max(page, 1), pages)
        return matched, matched[(page - 1) * page_size: page * page_size], pages


def summary_records(rows: Sequence[EpisodeRow]) -> list[ResultRecord]:
    """Typed records of the rows that have run (for the AUP table of what is shown)."""
    out = []
    for row in rows:
        if row.state == "pending" and row.trajectory is None:
            continue
        try:
            out.append(ResultRecord.from_dict(row.record, row.id))
        except ConfigError:
            continue
    return out
