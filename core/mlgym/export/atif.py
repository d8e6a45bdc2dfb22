"""Harbor's Agent Trajectory Interchange Format (ATIF, v1.4) from an MLGym trajectory.

One ATIF document per episode: a ``system`` step with the agent's system prompt (when the
conversation could be rebuilt), a ``user`` step with the task, then one ``agent`` step per
environment step: the discussion as ``message``, the action as one ``bash`` tool call (its
``command`` argument is the exact action line), the observation as that call's result, the
model's tokens and cost as ``metrics``; reward, termination and the step's evaluation go to the
step's ``extra``. The episode's task, method, seed, protocol, exit reason and score go to the
root ``extra``. Every document is checked against ``schemas/atif-v1.4.schema.json``, a JSON
Schema written from the ATIF specification (Harbor's RFC 0001).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from mlgym.errors import ConfigError
from mlgym.export.records import WITHHELD, _hide, withheld_observations
from mlgym.export.selection import Episode, Selection

VERSION = "ATIF-v1.4"
SHELL_TOOL = "bash"


def to_atif(episode: Episode, selection: Selection, system_prompt: str | None = None) -> dict:
    """The ATIF document of one episode (see the module doc)."""
    data = episode.data
    hidden = withheld_observations(episode, selection)
    started = _time(data.get("started_at"))
    steps: list[dict] = []
    if system_prompt:
        steps.append({"step_id": 1, "source": "system", "message": system_prompt})
    steps.append({"step_id": len(steps) + 1, "source": "user", "message": data["task_prompt"],
                  **_timestamp(started, 0.0)})
    evaluations = {e["step"]: e for e in data.get("evaluations") or [] if e.get("step") is not None}
    for step in data["steps"]:
        number = step["step"]
        call_id = f"call_{number}"
        withheld = number in hidden
        evaluation = evaluations.get(number)
        extra = {"reward": 0.0 if withheld else float(step.get("reward") or 0.0),
                 "terminated": bool(step.get("terminated")),
                 "truncated": bool(step.get("truncated")),
                 "action_kind": step.get("action_kind"), "mlgym_step": number}
        if evaluation is not None and not withheld:
            extra["evaluation"] = {"split": evaluation["split"], "ok": evaluation["ok"],
                                   "scores": evaluation.get("scores")}
        steps.append({
            "step_id": len(steps) + 1, "source": "agent",
            **_timestamp(started, step.get("started_at")),
            "model_name": data.get("model") or data["agent"],
            "message": step.get("thought") or "",
            "tool_calls": [{"tool_call_id": call_id, "function_name": SHELL_TOOL,
                            "arguments": {"command": step["action"]}}],
            "observation": {"results": [{"source_call_id": call_id, "content":
                                         WITHHELD if withheld else _hide(step["observation"], hidden)}]},
            "metrics": {"prompt_tokens": int(step["tokens"]["input"]),
                        "completion_tokens": int(step["tokens"]["output"]),
                        "cost_usd": float(step.get("cost") or 0.0)},
            "extra": extra,
        })
    totals = data["totals"]
    document = {
        "schema_version": VERSION, "session_id": episode.id,
        "agent": {"name": f"mlgym-{data['agent']}", "version": data["versions"]["mlgym-core"],
                  **({"model_name": data["model"]} if data.get("model") else {})},
        "steps": steps,
        "final_metrics": {"total_prompt_tokens": int(totals["tokens"]["input"]),
                          "total_completion_tokens": int(totals["tokens"]["output"]),
                          "total_cost_usd": float(totals["cost"]),
                          "total_steps": len(steps)},
        "extra": {"task": data["task"], "method": data["method"], "seed": data["seed"],
                  "protocol": data["protocol"], "exit_reason": data["exit_reason"],
                  "score": episode.score, "score_split": selection.split},
    }
    validate(document)
    return document


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _timestamp(started: datetime | None, offset: float | None) -> dict:
    if started is None or offset is None:
        return {}
    moment = started + timedelta(seconds=float(offset))
    return {"timestamp": moment.isoformat(timespec="seconds").replace("+00:00", "Z")}


@cache
def schema() -> dict:
    """The JSON Schema of ATIF v1.4 shipped with MLGym."""
    text = resources.files("mlgym.export").joinpath("schemas/atif-v1.4.schema.json").read_text()
    return json.loads(text)


def validate(document: dict) -> None:
    """Raise :class:`ConfigError` listing how ``document`` breaks the ATIF specification."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    problems = [f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
                for error in validator.iter_errors(document)]
    ids = [step.get("step_id") for step in document.get("steps") or []]
    if ids != list(range(1, len(ids) + 1)):
        problems.append("steps: step_id must count 1, 2, 3... in order")
    if problems:
        raise ConfigError("not a valid ATIF document:\n" + "\n".join(f"  {p}" for p in problems[:20]))
