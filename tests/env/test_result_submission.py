"""The environment's result record names as submission only a `submit` or an `auto_submit`."""

from __future__ import annotations


def test_a_validate_is_not_the_submission_of_an_episode_still_running(make_env):
    env = make_env(backend="local")
    env.reset()
    env.step("python3 predict.py")
    env.step("validate")
    record = env.result_record()
    assert [e["action"] for e in record["evaluations"]] == ["validate"]
    assert record["evaluations"][0]["ok"]
    assert record["submission"] is None


def test_after_a_failed_submit_and_a_validate_the_submission_is_the_failed_submit(make_env):
    env = make_env(backend="local")
    env.reset()
    env.step("submit")  # no predictions yet: fails, and the `mlgym` protocol goes on
    env.step("python3 predict.py")
    env.step("validate")
    record = env.result_record()
    assert [e["action"] for e in record["evaluations"]] == ["submit", "validate"]
    assert record["submission"]["action"] == "submit" and not record["submission"]["ok"]


def test_ending_the_episode_early_auto_submits_and_that_is_the_submission(make_env):
    env = make_env(backend="local")
    env.reset()
    env.step("python3 predict.py")
    env.step("validate")
    env.end_episode("interrupted")
    record = env.result_record()
    assert record["exit_reason"] == "interrupted"
    assert record["submission"]["action"] == "auto_submit"
    assert record["submission"]["scores"]["accuracy"] == 0.925
