"""The benchmark runner: many tasks x agents x seeds, in parallel, resumable, locally or on Ray.

- :mod:`~mlgym.bench.config`: the run config (``schemas/run.schema.json``) and its expansion
  into episodes;
- :mod:`~mlgym.bench.store`: the results store, SQLite in the run's folder, one row per episode;
- :mod:`~mlgym.bench.scheduler`: admission control (parallel, sandboxes starting, the compute
  each task needs) and the run's cost and time budgets;
- :mod:`~mlgym.bench.executors`: where episodes run: a worker process each
  (:mod:`~mlgym.bench.worker`), or Ray tasks (:mod:`~mlgym.bench.ray_executor`, imported only
  when asked for);
- :mod:`~mlgym.bench.recovery`: one process per run, and the clean-up after a killed one;
- :mod:`~mlgym.bench.progress`: the live display;
- :mod:`~mlgym.bench.runs`: a run as a whole: start or resume it (:func:`run_benchmark`), its
  status.

Layer: imports :mod:`mlgym.errors`, :mod:`mlgym.locations`, :mod:`mlgym.specs`,
:mod:`mlgym.plugins`, :mod:`mlgym.sandbox` (leftovers, processes) and :mod:`mlgym.agents` (one
episode from a spec); never the scoring or the command line. Episodes themselves run in workers.
"""

from mlgym.bench.config import BenchConfig, PlannedEpisode, expand, load_bench_config
from mlgym.bench.runs import RunResult, open_run, resolve_run, run_benchmark, status
from mlgym.bench.store import STATES, EpisodeRow, RunStore, run_records

__all__ = [
    "STATES",
    "BenchConfig",
    "EpisodeRow",
    "PlannedEpisode",
    "RunResult",
    "RunStore",
    "expand",
    "load_bench_config",
    "open_run",
    "resolve_run",
    "run_benchmark",
    "run_records",
    "status",
]
