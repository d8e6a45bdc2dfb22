"""``beats-baseline``: the share of tasks on which a method's best submission beats the baseline."""

from __future__ import annotations

from mlgym import hookimpl
from mlgym.scoring import MetricResult, ResultRecord, TaskInfo, add_intervals, score_table
from mlgym.plugins import MetricSpec


def compute(records: list[ResultRecord], tasks: dict[str, TaskInfo], options: dict) -> MetricResult:
    """One row per method: on how many tasks, and on what share, it beat the baseline."""

    def summary(rs: list[ResultRecord]) -> list[dict]:
        table = score_table(rs, tasks, "best_submission", options.get("split", "test"),
                            baseline_method=None)
        wins: dict[str, list[bool]] = {}
        for task_id, scores in table.items():
            task = tasks[task_id]
            for method, score in scores.items():
                won = None not in (score, task.baseline) and task.better(score, task.baseline)
                wins.setdefault(method, []).append(won)
        return [{"method": m, "share": sum(w) / len(w), "tasks_won": sum(w)} for m, w in wins.items()]

    result = MetricResult(
        metric="beats-baseline",
        tables={"beats_baseline": summary(records)},
        summary="beats_baseline",
        directions={"share": "maximize"},
        notes=["Share of tasks on which the best submission is strictly better than the baseline."],
    )
    add_intervals(result, records, summary, options)  # bootstrap over seeds when asked
    return result


@hookimpl
def mlgym_metrics() -> list[MetricSpec]:
    return [MetricSpec("beats-baseline", compute, "share of tasks where a method beats the baseline")]
