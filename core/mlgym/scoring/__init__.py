"""Scoring: result records in, cross-task scores, tables and figures out.

- :mod:`~mlgym.scoring.metrics`: :class:`ResultRecord`, :class:`TaskInfo` and
  :class:`MetricResult`, the types metric plugins work with, and :func:`compute_metric`;
- :mod:`~mlgym.scoring.published`: published per-task scores (``data/``, e.g. MLGym-Bench) as
  records beside one's own;
- :mod:`~mlgym.scoring.analyses`: the paper's analyses of runs from a list of records (failed
  and incomplete rates, how episodes ended, action counts, costs), including records of a
  benchmark store's failed or unfinished episodes;
- :mod:`~mlgym.scoring.report`: ``mlgym report`` (:func:`build_report`), its runs part in
  :mod:`~mlgym.scoring.run_report`, drawn by :mod:`~mlgym.scoring.plots` (matplotlib loads when
  a figure is drawn) and written by :mod:`~mlgym.scoring.tables`.

Layer: imports :mod:`mlgym.errors`, :mod:`mlgym.plugins` and :mod:`mlgym.episode` (the kinds of
action); it reads result records, never a running episode or agent.
"""

from mlgym.scoring.metrics import (
    BASELINE_METHOD,
    TABLE_KINDS,
    Evaluation,
    MetricResult,
    ResultRecord,
    TaskInfo,
    add_intervals,
    bootstrap_intervals,
    check_tasks,
    compute_metric,
    interval_rows,
    load_records,
    methods_of,
    score_table,
)
from mlgym.scoring.published import BUILTIN, Published, load_published, task_infos
from mlgym.scoring.report import Report, build_report

__all__ = [
    "BASELINE_METHOD",
    "BUILTIN",
    "TABLE_KINDS",
    "Evaluation",
    "MetricResult",
    "Published",
    "Report",
    "ResultRecord",
    "TaskInfo",
    "add_intervals",
    "bootstrap_intervals",
    "build_report",
    "check_tasks",
    "compute_metric",
    "interval_rows",
    "load_published",
    "load_records",
    "methods_of",
    "score_table",
    "task_infos",
]
