"""Best submission counts only a `submit` or an `auto_submit`: never a `validate`, even in a
record written before that was checked."""

from __future__ import annotations

from mlgym.scoring import ResultRecord, TaskInfo, compute_metric, score_table

HOUSE = TaskInfo(id="house-price", primary_metric="r2", direction="maximize", baseline=0.88)


def evaluation(action: str, score: float | None, step: int) -> dict:
    return {"step": step, "action": action, "split": "test", "ok": score is not None,
            "scores": {"r2": score} if score is not None else None, "error": None, "time": 1.0}


def record(method: str, evaluations: list[dict], submission: dict | None, **extra) -> dict:
    return {"task": "house-price", "method": method, "seed": 0, "evaluations": evaluations,
            "submission": submission, **extra}


def test_a_validate_named_as_submission_scores_as_an_attempt_only():
    validate = evaluation("validate", 0.95, 4)
    old = ResultRecord.from_dict(record("m", [validate], validate, exit_reason="error"))
    assert old.submission is None
    assert old.submission_score(HOUSE) is None
    assert old.attempt_score(HOUSE) == 0.95


def test_a_validate_named_as_submission_gives_way_to_the_last_real_submission():
    submit, validate = evaluation("submit", 0.90, 3), evaluation("validate", 0.95, 5)
    old = ResultRecord.from_dict(record("m", [submit, validate], validate))
    assert old.submission.action == "submit"
    assert old.submission_score(HOUSE) == 0.90
    assert old.attempt_score(HOUSE) == 0.95


def test_a_validate_named_as_submission_but_missing_from_the_evaluations_still_counts_as_attempt():
    old = ResultRecord.from_dict(record("m", [], evaluation("validate", 0.93, 4)))
    assert old.submission_score(HOUSE) is None and old.attempt_score(HOUSE) == 0.93


def test_a_submission_without_an_action_is_taken_as_a_submit():
    given = evaluation("submit", 0.91, 6)
    del given["action"]
    read = ResultRecord.from_dict(record("m", [], given))
    assert read.submission.action == "submit" and read.submission_score(HOUSE) == 0.91


def test_an_auto_submit_counts_as_the_submission():
    auto = evaluation("auto_submit", 0.89, 50)
    read = ResultRecord.from_dict(record("m", [evaluation("validate", 0.92, 10), auto], auto))
    assert read.submission_score(HOUSE) == 0.89 and read.attempt_score(HOUSE) == 0.92


def test_best_submission_table_and_aup_ignore_a_validate_as_submission():
    validate = evaluation("validate", 0.95, 4)
    records = [ResultRecord.from_dict(r) for r in (
        record("validator", [validate], validate, exit_reason="interrupted"),
        record("submitter", [evaluation("submit", 0.90, 8)], evaluation("submit", 0.90, 8)),
    )]
    table = score_table(records, {"house-price": HOUSE}, "best_submission")
    assert table == {"house-price": {"validator": None, "submitter": 0.90, "baseline": 0.88}}
    attempts = score_table(records, {"house-price": HOUSE}, "best_attempt")
    assert attempts["house-price"]["validator"] == 0.95
    aup = compute_metric("aup", records, {"house-price": HOUSE}, {"bootstrap": 0})
    rows = {r["method"]: r for r in aup.summary_rows()}
    # best attempt: the validator has the best score; best submission: it has none at all
    assert rows["validator"]["best_attempt_aup"] > rows["submitter"]["best_attempt_aup"]
    assert rows["validator"]["best_submission_aup"] < rows["submitter"]["best_submission_aup"]
    assert rows["validator"]["best_submission_aup"] < rows["baseline"]["best_submission_aup"]
