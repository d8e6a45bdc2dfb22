"""validate and submit: the evaluator protocol, failed evaluations, protocols, reward."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import pytest

from mlgym.episode import EvaluatorOutputError, improvement_reward, parse_scores
from mlgym.episode.evaluation import MAX_REWARD, failure_summary
from mlgym.specs import Metric


def set_threshold(env, value: int) -> None:
    out = env.step(f"sed -i 's/^THRESHOLD = .*/THRESHOLD = {value}/' predict.py && "
                   "python3 predict.py")[0]
    assert f"threshold {value}" in out


# -- the evaluator's output -----------------------------------------------------------------


def test_parse_scores_keeps_declared_metrics(fixture_task):
    assert parse_scores('noise\n{"accuracy": 0.5, "errors": 4, "extra": 1}\n', fixture_task) \
        == {"accuracy": 0.5, "errors": 4.0}
    assert parse_scores('{"accuracy": 1}', fixture_task) == {"accuracy": 1.0}


@pytest.mark.parametrize("output, message", [
    ("", "not a JSON object"),
    ('{"accuracy": 0.5}\nscored', "not a JSON object"),
    ("[0.5]", "not a JSON object"),
    ('{"errors": 1}', "lacks the primary metric 'accuracy'"),
    ('{"accuracy": "high"}', "'accuracy' is 'high', not a number"),
    ('{"accuracy": true}', "not a number"),
    ('{"accuracy": NaN}', "not a finite number"),
    ('{"accuracy": 0.5, "errors": Infinity}', "'errors' is inf, not a finite number"),
    ('{"accuracy": 1e308}', "'accuracy' is 1e.308, not a finite number of a magnitude"),
    ('{"accuracy": -1e301}', "of a magnitude MLGym can score"),
])
def test_parse_scores_rejects(fixture_task, output, message):
    with pytest.raises(EvaluatorOutputError, match=message):
        parse_scores(output, fixture_task)


def test_improvement_reward_formula():
    up, down = Metric("acc", "maximize", True), Metric("loss", "minimize", True)
    assert improvement_reward(up, 0.95, 0.925, 0.925) == pytest.approx(0.025 / 0.925)
    assert improvement_reward(up, 0.90, 0.925, 0.925) == 0.0  # worse: no reward
    assert improvement_reward(down, 1.0, 2.0, 4.0) == pytest.approx(0.25)
    assert improvement_reward(down, 3.0, 2.0, 4.0) == 0.0
    assert improvement_reward(up, 0.3, 0.1, 0.0) == pytest.approx(0.2)  # baseline 0: not scaled
    assert improvement_reward(up, 0.3, 0.1, -0.5) == pytest.approx(0.4)  # |baseline|
    assert improvement_reward(up, 0.3, None, None) == 0.0  # first score without a baseline


def with_ranges(task, **ranges):
    """``task`` with metric ranges: ``accuracy=(0, 1)``."""
    metrics = tuple(dataclasses.replace(m, low=ranges[m.name][0], high=ranges[m.name][1])
                    if m.name in ranges else m for m in task.metrics)
    return dataclasses.replace(task, metrics=metrics)


def test_a_metric_outside_its_declared_range_is_refused(fixture_task):
    task = with_ranges(fixture_task, accuracy=(0, 1), errors=(0, None))
    assert parse_scores('{"accuracy": 1, "errors": 1e9}', task) == {"accuracy": 1.0,
                                                                   "errors": 1e9}
    assert parse_scores('{"accuracy": 0}', task) == {"accuracy": 0.0}  # bounds are inside
    with pytest.raises(EvaluatorOutputError, match=r"'accuracy' is 1.5, outside its valid "
                                                   r"range \[0, 1\]"):
        parse_scores('{"accuracy": 1.5}', task)
    with pytest.raises(EvaluatorOutputError, match=r"'errors' is -1, outside .* \[0, -\]"):
        parse_scores('{"accuracy": 0.5, "errors": -1}', task)


def test_improvement_reward_is_finite_and_capped():
    up, down = Metric("acc", "maximize", True), Metric("loss", "minimize", True)
    assert improvement_reward(up, 1e308, -1e308, None) == MAX_REWARD  # the difference is inf
    assert improvement_reward(down, -1e300, 1e300, None) == MAX_REWARD
    assert improvement_reward(up, 1e7, 0.0, 1.0) == MAX_REWARD
    assert improvement_reward(up, -1e300, 1e300, 1e-300) == 0.0
    for score in (1e308, -1e308, 0.0, 1e-320):
        for best in (1e308, -1e308, 0.0, None):
            reward = improvement_reward(up, score, best, 1e-9)
            assert math.isfinite(reward) and 0.0 <= reward <= MAX_REWARD


def failed_line(**fields) -> str:
    return "noise\n" + json.dumps({"failed": fields}) + "\n"


@pytest.mark.parametrize("fields, summary", [
    ({"call": "move", "kind": "raised", "type": "ZeroDivisionError"},
     "the call `move` of your code raised ZeroDivisionError"),
    ({"call": "move", "kind": "raised", "type": "SecretAnswerIs42"},
     "the call `move` of your code raised an exception"),
    ({"call": "move", "kind": "raised", "type": "the hidden answer is 42"},
     "the call `move` of your code raised an exception"),
    ({"call": "move", "kind": "timeout", "type": ""},
     "the call `move` of your code gave no answer within its time limit"),
    ({"call": "load", "kind": "exited"}, "the call `load` of your code ended without answering"),
    ({"call": "move", "kind": "invalid", "type": "KeyError"},
     "the call `move` of your code answered with a value the evaluator rejects"),
    ({"call": "x" * 65, "kind": "timeout"}, "a call of your code gave no answer"),
    ({"call": "answer is 42", "kind": "timeout"}, "a call of your code gave no answer"),
    ({"call": "move`; 42", "kind": "timeout"}, "a call of your code gave no answer"),
    ({"call": 42, "kind": "raised", "type": "ValueError"}, "a call of your code raised ValueError"),
    ({"call": "move", "kind": "leaked 42"}, None),
])
def test_failure_summary_keeps_only_names(fields, summary):
    found = failure_summary(failed_line(**fields))
    if summary is None:
        assert found is None
    else:
        assert found is not None and found.startswith(summary)
        assert "42" not in found and "Secret" not in found


def test_failure_summary_reads_only_the_last_line():
    assert failure_summary(failed_line(call="move", kind="timeout") + "{}\n") is None
    assert failure_summary("not json") is None and failure_summary("") is None
    assert failure_summary('{"failed": "move"}') is None


# -- evaluations in an episode ----------------------------------------------------------------


def test_validate_and_submit_score_the_workspace(backend, make_env):
    env = make_env(backend=backend)
    env.reset(seed=5)
    obs, reward, terminated, truncated, info = env.step("validate")
    assert "FAILED" in obs and "predictions.csv not found" in obs
    evaluation = dict(info["evaluation"])
    error, spent = evaluation.pop("error"), evaluation.pop("time")
    assert evaluation == {"step": 1, "action": "validate", "split": "test", "ok": False,
                          "scores": None}
    assert error.startswith("the evaluator failed with exit code 1") and reward == 0.0
    assert isinstance(spent, float) and spent > 0
    env.step("python3 predict.py")
    obs, reward, terminated, truncated, info = env.step("validate")
    assert info["scores"] == {"accuracy": 0.925, "errors": 3.0} and reward == 0.0
    assert "0.925" in obs and "baseline" in obs and "best so far" in obs
    assert not terminated and not truncated
    set_threshold(env, 37)
    obs, reward, terminated, truncated, info = env.step("submit")
    assert terminated and not truncated and info["exit_reason"] == "submitted"
    assert info["scores"] == {"accuracy": 1.0, "errors": 0.0}
    assert reward == pytest.approx((1.0 - 0.925) / 0.925)
    record = env.result_record()
    assert [(e["action"], e["split"], e["ok"]) for e in record["evaluations"]] == \
        [("validate", "test", False), ("validate", "test", True), ("submit", "test", True)]
    assert record["submission"]["scores"]["accuracy"] == 1.0
    assert record["exit_reason"] == "submitted" and record["steps"] == 5
    assert record["seed"] == 5 and record["backend"] == backend


def test_failed_submit_does_not_end_the_episode(make_env):
    env = make_env(backend="local")
    env.reset()
    obs, reward, terminated, truncated, info = env.step("submit")
    assert "Nothing was submitted" in obs and not terminated and not truncated
    assert info["evaluation"]["action"] == "submit" and not info["evaluation"]["ok"]


def test_strict_protocol_keeps_test_for_submit(make_env):
    env = make_env(backend="local", protocol="strict")
    env.reset()
    env.step("python3 predict.py")
    obs, *_, info = env.step("validate")
    assert "dev split" in obs and info["scores"] == {"accuracy": 0.9, "errors": 2.0}
    *_, info = env.step("submit")
    assert info["evaluation"]["split"] == "test" and info["scores"]["accuracy"] == 0.925
    assert [e["split"] for e in info["evaluations"]] == ["dev", "test"]


def test_reward_is_improvement_over_best_so_far(make_env):
    env = make_env(backend="local")
    env.reset()
    rewards = []
    for threshold in (50, 45, 60, 38, 37):
        set_threshold(env, threshold)
        rewards.append(env.step("validate")[1])
    assert rewards == pytest.approx([0.0, 0.025 / 0.925, 0.0, 0.025 / 0.925, 0.025 / 0.925])
    assert sum(rewards) == pytest.approx((1.0 - 0.925) / 0.925)
    info = env.step("ls")[4]
    assert info["best_score"] == 1.0 and info["best_scores"] == {"accuracy": 1.0, "errors": 0.0}
    assert env.step("ls")[1] == 0.0


def test_evaluator_gets_the_protocol_variables(backend, make_env, task_variant):
    task = task_variant(source=(
        "import json, os\n"
        "ws = os.environ['MLGYM_WORKSPACE']\n"
        "ok = os.listdir(ws) == []  # a snapshot of the submission files (none made yet)\n"
        "data = os.listdir(os.path.join(os.environ['MLGYM_DATA_DIR'], 'fixture-numbers'))\n"
        "hidden = os.listdir(os.environ['MLGYM_HIDDEN_DIR'])\n"
        "print(os.environ['MLGYM_SPLIT'], data, hidden, os.getcwd(), os.getuid())\n"
        "print(json.dumps({'accuracy': int(os.environ['MLGYM_SEED']), 'errors': int(ok)}))\n"))
    env = make_env(task, backend=backend, protocol="strict", eval_seed=17)
    env.reset(seed=3)
    evaluation = env.step("validate")[4]["evaluation"]
    assert evaluation["ok"], env.evaluations[-1].stderr
    assert evaluation["scores"] == {"accuracy": 17.0, "errors": 1.0}
    stdout = env.evaluations[-1].output
    assert stdout.startswith("dev ['numbers.csv'") and "['labels.csv']" in stdout
    cwd, uid = stdout.split("\n")[0].split()[-2:]
    if backend == "local":  # no isolation: the evaluator folder itself, as the caller
        assert cwd.endswith("evaluator") and uid == str(os.getuid())
    else:
        assert (cwd, uid) == ("/mlgym/evaluator", "61001")  # not the agent's uid
    env.reset(seed=4)  # the episode seed does not move the evaluation's draws
    assert env.step("submit")[4]["scores"]["accuracy"] == 17.0


BROKEN_EVALUATORS = {
    "crash": ("import sys\nsys.stderr.write('boom: the evaluator broke\\n')\nsys.exit(3)\n",
              "exit code 3", "boom: the evaluator broke"),
    "malformed": ("print('accuracy is high')\n", "not a JSON object", "accuracy is high"),
    "nan": ("print('{\"accuracy\": NaN}')\n", "not a finite number", None),
    "missing-primary": ("print('{\"errors\": 0}')\n", "lacks the primary metric", None),
    "not-a-number": ("print('{\"accuracy\": [1]}')\n", "not a number", None),
    "timeout": ("import time\ntime.sleep(60)\n", "time limit of 2 s", None),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_EVALUATORS))
def test_broken_evaluator_is_a_failed_evaluation(backend, make_env, task_variant, kind):
    source, error, shown = BROKEN_EVALUATORS[kind]
    env = make_env(task_variant(source, evaluator={"timeout": 2}), backend=backend,
                   protocol="strict")  # validate scores dev, where the evaluator's output shows
    env.reset()
    obs, reward, terminated, truncated, info = env.step("validate")
    assert error in info["evaluation"]["error"] and error in obs
    assert shown is None or shown in obs
    assert info["evaluation"]["ok"] is False and info["scores"] is None and reward == 0.0
    assert env.step("echo alive")[0] == "alive"
    assert not math.isnan(reward)


def test_a_failed_evaluation_on_test_shows_only_the_error_line(make_env, task_variant):
    source = ("import sys\nprint('the labels are 0 1 1 0')\n"
              "sys.stderr.write('hidden: 0 1 1 0\\nsubmission.csv: bad row 3\\n')\nsys.exit(2)\n")
    env = make_env(task_variant(source), backend="local")  # protocol mlgym: validate on test
    env.reset()
    obs = env.step("validate")[0]
    assert "exit code 2: submission.csv: bad row 3" in obs
    assert "labels are" not in obs and "hidden: 0 1 1 0" not in obs
    assert "Nothing more is shown for the test split" in obs


def test_result_record_fits_the_result_schema(make_env):
    import jsonschema

    from mlgym.specs import load_schema

    env = make_env(backend="local", max_steps=3)
    env.reset()
    env.step("validate")
    env.step("python3 predict.py")
    env.step("ls")
    record = env.result_record()
    assert record["exit_reason"] == "max_steps" and record["submission"]["action"] == "auto_submit"
    record.update(method="scripted", agent="scripted", model=None, trajectory="trajectory.json")
    jsonschema.validate(record, load_schema("result"))


def test_a_score_outside_the_declared_range_fails_the_evaluation(make_env, task_variant):
    metrics = [{"name": "accuracy", "direction": "maximize", "primary": True, "range": [0, 1]}]
    task = task_variant("print('{\"accuracy\": 7.5}')\n", metrics=metrics, baseline=None)
    env = make_env(task, backend="local")
    env.reset()
    obs, reward, _, _, info = env.step("validate")
    assert info["evaluation"]["ok"] is False and reward == 0.0
    assert "outside its valid range [0, 1]" in obs
