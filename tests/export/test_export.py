"""mlgym export: records a trainer reads, that replay to the same episode, that leak no
test-split result under --split dev, and that hold no secret or harness path."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import datasets
import pytest
import yaml
from export_episodes import BASELINE, IMPROVE, TASK

from mlgym.agents import ProgressView, agent_config
from mlgym.agents import trajectory as trajectories
from mlgym.agents.launch import EpisodeSpec, run_episode_from_spec
from mlgym.cli import main as mlgym
from mlgym.episode import MLGymEnv
from mlgym.errors import ConfigError
from mlgym.export import Selection, atif, export
from mlgym.export.records import WITHHELD


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def replay_replies(folder: Path, replies: list, mode: str) -> dict:
    """Run the react agent again with ``replies`` as its model's; the new trajectory."""
    script = folder / "replies.yaml"
    folder.mkdir(parents=True)
    script.write_text(yaml.safe_dump(replies))
    config = agent_config("react", None, {"tools": [], "mode": mode,
                                          "model": {"name": f"scripted:{script}", "backoff": 0.0}})
    spec = EpisodeSpec(task=TASK, config=config, seed=0, protocol="strict", backend="local",
                       out_dir=str(folder / "episode"))
    return run_episode_from_spec(spec, ProgressView(quiet=True)).trajectory


def test_chat_records_are_what_the_agent_sent_and_replay_to_the_same_episode(run_episode, tmp_path):
    folder = run_episode(IMPROVE, "improve")
    original = trajectories.load(folder)
    actions = [s["action"] for s in original["steps"]]

    assert mlgym(["export", str(folder), "--kind", "sft", "--out", str(tmp_path / "sft.jsonl"),
                  "--split", "any"]) == 0
    records = datasets.load_dataset("json", data_files=str(tmp_path / "sft.jsonl"))["train"]
    assert len(records) == len(actions)
    first = records[0]
    assert first["prompt"][0]["role"] == "system" and "shell" in first["prompt"][0]["content"]
    assert "fixture-numbers/numbers.csv" in first["prompt"][-1]["content"]  # the task prompt
    later = records[2]["prompt"]
    assert [m["content"] for m in later if m["role"] == "assistant"] == [
        r for r in IMPROVE[:2]]  # earlier replies, as the agent kept them
    assert [r["completion"][0]["content"] for r in records] == IMPROVE
    replayed = replay_replies(tmp_path / "text-replay",
                              [r["completion"][0]["content"] for r in records], "text")
    assert [s["action"] for s in replayed["steps"]] == actions
    assert replayed["submission"]["scores"] == original["submission"]["scores"]

    out = tmp_path / "tools.parquet"
    report = export([folder], "sft-tools", out, Selection(split="any"))
    assert report.records == len(actions)
    tool_records = datasets.load_dataset("parquet", data_files=str(out))["train"]
    completion = tool_records[1]["completion"][0]
    call = completion["tool_calls"][0]["function"]
    assert call["name"] == "bash" and json.loads(call["arguments"]) == {"command": actions[1]}
    assert tool_records[1]["prompt"][-1]["role"] == "tool"  # the observation answers the call
    assert any(json.loads(t)["function"]["name"] == "bash" for t in tool_records[0]["tools"])
    replies = [{"content": r["completion"][0]["content"],
                "tool_calls": [{"name": c["function"]["name"],
                                "arguments": json.loads(c["function"]["arguments"])}
                               for c in r["completion"][0]["tool_calls"]]} for r in tool_records]
    replayed = replay_replies(tmp_path / "tool-replay", replies, "tool_calls")
    assert [s["action"] for s in replayed["steps"]] == actions


def test_step_records_replay_through_the_environment(run_episode, tmp_path):
    folder = run_episode(IMPROVE, "improve")
    out = tmp_path / "steps.jsonl"
    export([folder], "steps", out, Selection(split="any"))
    records = read_jsonl(out)
    schema = json.loads((Path(atif.__file__).parent / "schemas/step-record.schema.json").read_text())
    import jsonschema

    for record in records:
        jsonschema.validate(record, schema)
    assert len({r["episode_id"] for r in records}) == 1
    assert [r["terminated"] for r in records] == [False] * 4 + [True]
    environment = trajectories.load(folder)["config"]["environment"]  # as the episode ran
    env = MLGymEnv(TASK, **{k: v for k, v in environment.items() if v is not None})
    try:
        observation, _ = env.reset(seed=0)
        assert observation == records[0]["observation"]
        for record in records:
            observation, reward, terminated, truncated, _ = env.step(record["action"])
            assert (observation, reward, terminated, truncated) == (
                record["next_observation"], record["reward"], record["terminated"],
                record["truncated"])
    finally:
        env.close()


def test_split_filter_withholds_test_results_and_ranks_by_dev(run_episode, tmp_path):
    better = run_episode(IMPROVE, "improve")
    baseline = run_episode(BASELINE, "baseline")
    paper = run_episode(BASELINE, "paper-protocol", protocol="mlgym")  # validate on test
    dev_scores = {}
    for folder in (better, baseline):
        data = trajectories.load(folder)
        dev_scores[data["run_id"]] = [e["scores"]["accuracy"] for e in data["evaluations"]
                                      if e["split"] == "dev"][0]
    assert max(dev_scores.values()) > min(dev_scores.values())

    out = tmp_path / "dev.jsonl"
    export([tmp_path], "steps", out, Selection(split="dev"))
    records = read_jsonl(out)
    assert {r["task"] for r in records} == {TASK}
    for record in records:
        if record["action"] == "submit" or (record["action"] == "validate"
                                            and record["episode_id"].startswith(
                                                trajectories.load(paper)["run_id"])):
            assert record["next_observation"] == WITHHELD
            assert record["reward"] == 0.0 and record["evaluation"] is None
        if record["evaluation"] is not None:
            assert record["evaluation"]["split"] == "dev"
    text = out.read_text()
    for folder in (better, baseline, paper):
        for evaluation in trajectories.load(folder)["evaluations"]:
            if evaluation["split"] == "test":
                step = trajectories.load(folder)["steps"][evaluation["step"] - 1]
                assert step["observation"] not in text

    sft = tmp_path / "dev-sft.jsonl"
    export([paper], "sft", sft, Selection(split="dev"))
    submit_prompt = read_jsonl(sft)[-1]["prompt"]
    assert WITHHELD in submit_prompt[-1]["content"]  # the test-split validate it saw is withheld

    top = export([tmp_path], "steps", tmp_path / "top.jsonl", Selection(split="dev", top_k=1))
    assert top.episodes == 1
    kept = {r["episode_id"] for r in read_jsonl(tmp_path / "top.jsonl")}
    best_run = max(dev_scores, key=dev_scores.get)
    assert len(kept) == 1 and next(iter(kept)).startswith(best_run)
    assert {r["score"] for r in read_jsonl(tmp_path / "top.jsonl")} == {dev_scores[best_run]}

    threshold = export([tmp_path], "steps", tmp_path / "min.jsonl",
                       Selection(split="dev", min_score=min(dev_scores.values())))
    assert len({r["episode_id"] for r in read_jsonl(tmp_path / "min.jsonl")}) == 2  # not paper's
    assert threshold.records == sum(len(trajectories.load(f)["steps"]) for f in (better, baseline))

    export([tmp_path], "steps", tmp_path / "test.jsonl", Selection(split="test", top_k=5))
    by_test = read_jsonl(tmp_path / "test.jsonl")
    assert len({r["episode_id"] for r in by_test}) == 3
    assert any(r["evaluation"] and r["evaluation"]["split"] == "test" for r in by_test)


def test_no_secret_or_harness_path_is_exported(run_episode, tmp_path, monkeypatch):
    key = "sk-live-ABCDEFGHIJKLMNOPQRSTUVWX0123"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    replies = [f"I note the key.\n```\necho {key} {sys.prefix}\n```",
               "I hand in the baseline.\n```\nsubmit\n```"]
    folder = run_episode(replies, "secrets", model={"api_key_env": "OPENAI_API_KEY"})
    raw = (folder / "trajectory.json").read_text()
    assert key in raw and sys.prefix in raw  # the agent's own command shows both
    outputs = []
    for kind, name in (("sft", "a.jsonl"), ("sft-tools", "b.jsonl"), ("steps", "c.jsonl"),
                       ("sft", "d.parquet"), ("atif", "atif")):
        export([folder], kind, tmp_path / "out" / name, Selection(split="any"))
        outputs.append(tmp_path / "out" / name)
    files = [p for o in outputs for p in ([o] if o.is_file() else sorted(o.iterdir()))]
    assert len(files) == 5
    for path in files:
        data = path.read_bytes()
        assert key.encode() not in data and sys.prefix.encode() not in data, path
    assert b"<secret>" in files[0].read_bytes() and b"<harness>" in files[0].read_bytes()


def test_atif_documents_follow_the_specification(run_episode, tmp_path):
    folder = run_episode(IMPROVE, "improve")
    report = export([folder], "atif", tmp_path / "atif", Selection(split="dev"))
    (path,) = sorted((tmp_path / "atif").iterdir())
    document = json.loads(path.read_text())
    atif.validate(document)
    assert report.records == 1 and document["schema_version"] == "ATIF-v1.4"
    sources = [s["source"] for s in document["steps"]]
    assert sources == ["system", "user"] + ["agent"] * len(IMPROVE)
    agent_steps = document["steps"][2:]
    assert [s["tool_calls"][0]["arguments"]["command"] for s in agent_steps] == [
        s["action"] for s in trajectories.load(folder)["steps"]]
    assert agent_steps[-1]["observation"]["results"][0]["content"] == WITHHELD  # test split
    assert document["extra"]["score"] == agent_steps[3]["extra"]["evaluation"]["scores"]["accuracy"]
    broken = json.loads(path.read_text())
    broken["steps"][2]["source"] = "assistant"
    del broken["agent"]["version"]
    with pytest.raises(ConfigError) as refused:
        atif.validate(broken)
    assert "version" in str(refused.value) and "assistant" in str(refused.value)


def test_a_bench_run_exports_its_finished_episodes_only(run_episode, tmp_path):
    import shutil

    from mlgym.bench import PlannedEpisode, RunStore

    finished = run_episode(IMPROVE, "finished")
    partial = run_episode(BASELINE, "partial")
    run_dir = tmp_path / "bench-run"
    store = RunStore(run_dir)
    try:
        planned = [PlannedEpisode(key=key, task=TASK, method="react:scripted", seed=0,
                                  spec=EpisodeSpec(task=TASK)) for key in ("a", "b")]
        store.add_episodes(planned)
        for key, folder in (("a", finished), ("b", partial)):
            shutil.copytree(folder, run_dir / "episodes" / key)
        store.mark_running("a", "worker-1")
        store.mark_finished("a", trajectories.result_record(trajectories.load(finished)))
        store.mark_running("b", "worker-2")  # still running: its trajectory is partial
    finally:
        store.close()
    report = export([run_dir / "bench.sqlite"], "steps", tmp_path / "bench.jsonl",
                    Selection(split="any"))
    assert report.episodes == 1
    assert {r["episode_id"] for r in read_jsonl(tmp_path / "bench.jsonl")} == {
        f"{trajectories.load(finished)['run_id']}/{TASK}/"
        f"{trajectories.load(finished)['method']}/seed0"}
