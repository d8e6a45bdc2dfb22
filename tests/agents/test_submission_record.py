"""What an episode records as its submission: only a `submit` or an `auto_submit`, never a
`validate`; an episode ended by an exception or Ctrl-C hands its workspace in automatically."""

from __future__ import annotations

import pytest
from episodes import SOLVE, TASK, run_fixture_episode, scripted_config

from mlgym.agents import Agent
from mlgym.agents import trajectory as trajectories
from mlgym.scoring import ResultRecord, TaskInfo

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TASK_INFO = TaskInfo(id=TASK, primary_metric="accuracy", direction="maximize")


class Actions(Agent):
    """Plays a fixed list of actions; an exception class in the list is raised at that turn."""

    id = "actions"

    def __init__(self, actions: list):
        super().__init__({"agent": "actions", "max_steps": 30})
        self.actions = list(actions)

    def act(self, observation: str, info: dict) -> str:
        action = self.actions.pop(0)
        if isinstance(action, type) and issubclass(action, BaseException):
            raise action("stopped on purpose")
        return action


def test_an_exception_after_a_validate_auto_submits_the_workspace(tmp_path):
    data = run_fixture_episode(Actions(["python predict.py", "validate", RuntimeError]),
                               tmp_path / "out")
    assert data["exit_reason"] == "error" and data["error_kind"] == "runtime"
    assert "stopped on purpose" in data["error"]
    assert [e["action"] for e in data["evaluations"]] == ["validate", "auto_submit"]
    assert data["submission"]["action"] == "auto_submit"
    assert data["submission"]["scores"]["accuracy"] == pytest.approx(0.925)
    record = ResultRecord.from_dict(trajectories.result_record(data))
    assert record.submission_score(TASK_INFO) == pytest.approx(0.925)


def test_a_model_that_keeps_failing_is_recorded_as_a_model_error(tmp_path):
    data = run_fixture_episode(scripted_config(tmp_path, [SOLVE[1], {"error": "fatal"}]),
                               tmp_path / "out")
    assert data["exit_reason"] == "error" and data["error_kind"] == "model"
    record = ResultRecord.from_dict(trajectories.result_record(data))
    assert record.error_kind == "model"
    assert record.submission.action == "auto_submit"


def test_ctrl_c_auto_submits_the_workspace_and_keeps_the_exit_reason(tmp_path):
    data = run_fixture_episode(Actions(["python predict.py", "validate", KeyboardInterrupt]),
                               tmp_path / "out")
    saved = trajectories.load(tmp_path / "out")
    assert saved["exit_reason"] == data["exit_reason"] == "interrupted"
    assert [e["action"] for e in saved["evaluations"]] == ["validate", "auto_submit"]
    assert saved["submission"]["action"] == "auto_submit"
    assert [s["action"] for s in saved["steps"]] == ["python predict.py", "validate"]


def test_an_auto_submission_that_fails_is_the_submission_not_the_earlier_validate(tmp_path):
    # the validate scores the predictions; then they are deleted and the episode breaks
    data = run_fixture_episode(Actions(["python predict.py", "validate", "rm -f predictions.csv",
                                        RuntimeError]), tmp_path / "out")
    assert data["evaluations"][0]["ok"]
    assert data["submission"]["action"] == "auto_submit"
    record = ResultRecord.from_dict(trajectories.result_record(data))
    assert record.submission_score(TASK_INFO) is None
    assert record.attempt_score(TASK_INFO) == pytest.approx(0.925)


def test_the_finished_record_of_an_episode_without_a_submission_names_none():
    evaluations = [{"step": 2, "action": "validate", "split": "test", "ok": True,
                    "scores": {"accuracy": 0.9}, "error": None, "time": 1.0}]
    assert trajectories.submission_of(evaluations) is None
    assert trajectories.submission_of([*evaluations, dict(evaluations[0], action="auto_submit",
                                                          step=3)])["step"] == 3
