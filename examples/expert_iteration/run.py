"""Expert iteration with the embedded model: collect, keep the better episodes, fine-tune, serve,
evaluate again.

    python examples/expert_iteration/run.py --out runs/expert-iteration

1. **Collect**: episodes of the react agent with the embedded SmolLM2-135M-Instruct (llama.cpp's
   server, sampling at ``--temperature`` so the episodes differ) on a game task.
2. **Keep the better ones**: ``mlgym export`` keeps the ``--keep`` best episodes by score and
   writes their model calls as TRL prompt-completion records (the messages as the agent sent
   them, the reply it acted on).
3. **Fine-tune** the 135M model on CPU with TRL's ``SFTTrainer``: the weights come out of the
   GGUF file the server serves (``weights.load_model``), the loss falls on the replies only, and
   each prompt keeps its last ``--max-length`` tokens less the reply.
4. **Serve** the new weights: ``weights.write_gguf`` writes a GGUF file the same server loads.
5. **Evaluate** the base and the fine-tuned model on the same evaluation seeds (greedy
   decoding), and print both.

``--tiny`` (one short episode, one training step) took 10 minutes on two shared CPU cores; the
README gives the measured runs. The run's folder holds every trajectory, the records, the new GGUF file and
``summary.json``.

Which scores choose the kept episodes is ``--split``. A game task's evaluation here uses the
task's ``mlgym`` protocol (validate and submit both score on the test split, as in the MLGym
paper), and the evaluation afterwards is on that same split: this loop improves a policy on its
own environment, as RL does; it is not a benchmark result. For data that never saw a test-split
score, collect with ``--protocol strict`` and keep by ``--split dev`` (episodes then need a
``validate`` to be ranked).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import weights

from mlgym.agents import ProgressView, agent_config
from mlgym.agents import trajectory as trajectories
from mlgym.agents.embedded import EmbeddedServer, find_weights
from mlgym.agents.launch import EpisodeSpec, run_episode_from_spec
from mlgym.export import Selection, export
from mlgym.plugins.registry import get_registry


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder of this run")
    p.add_argument("--task", default="prisoners-dilemma")
    p.add_argument("--protocol", choices=["mlgym", "strict"], default="mlgym")
    p.add_argument("--split", choices=["dev", "test", "any"], default="test",
                   help="the evaluations that rank the collected episodes")
    p.add_argument("--episodes", type=int, default=6, help="episodes collected")
    p.add_argument("--keep", type=int, default=3, help="best episodes kept for training")
    p.add_argument("--eval-episodes", type=int, default=2, help="evaluation episodes per model")
    p.add_argument("--max-steps", type=int, default=8, help="steps per episode")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling while collecting")
    p.add_argument("--train-steps", type=int, default=8)
    p.add_argument("--learning-rate", type=float, default=2e-5)
    p.add_argument("--max-length", type=int, default=1024, help="tokens per training example")
    p.add_argument("--backend", help="sandbox backend (default: bwrap where it works)")
    p.add_argument("--tiny", action="store_true", help="1 episode of 2 steps, 1 training step of "
                   "256 tokens, 1 evaluation episode per model: the pipeline end to end, fast")
    args = p.parse_args(argv)
    if args.tiny:
        args.episodes, args.keep, args.eval_episodes, args.max_steps = 1, 1, 1, 2
        args.train_steps, args.max_length = 1, 256
    return args


# -- episodes -------------------------------------------------------------------------------


def run_episodes(server: EmbeddedServer, args, seeds: list[int], folder: Path,
                 temperature: float) -> list[Path]:
    """One episode per seed of the react agent on the model ``server`` serves."""
    model = {**server.model_config(), "temperature": temperature}
    config = agent_config("react", None, {"model": model, "max_steps": args.max_steps})
    done = []
    for seed in seeds:
        spec = EpisodeSpec(task=args.task, config=config, seed=seed, protocol=args.protocol,
                           backend=args.backend, out_dir=str(folder / f"seed{seed}"))
        launched = run_episode_from_spec(spec, ProgressView(quiet=True))
        done.append(launched.out_dir)
        print(f"  seed {seed}: {describe(launched.trajectory)}", flush=True)
    return done


def describe(data: dict) -> str:
    submission = data.get("submission")
    score = (", ".join(f"{k} {v:.4g}" for k, v in submission["scores"].items())
             if submission and submission["ok"] else "no valid submission")
    return f"{score} ({data['exit_reason']}, {len(data['steps'])} steps)"


def summarise(folders: list[Path], metric: str) -> dict:
    """Mean submission score (primary metric) and how many episodes had a valid one."""
    scores = []
    for folder in folders:
        submission = trajectories.load(folder).get("submission")
        if submission and submission["ok"]:
            scores.append(submission["scores"][metric])
    return {"episodes": len(folders), "scored": len(scores),
            "mean": statistics.fmean(scores) if scores else None, "scores": scores}


# -- fine-tuning ----------------------------------------------------------------------------


def tokenized(records: list[dict], tokenizer, max_length: int) -> list[dict]:
    """Each record as token ids: the prompt (its last tokens when too long), then the reply;
    ``completion_mask`` marks the reply, where TRL puts the loss."""
    out = []
    for record in records:
        prompt = tokenizer.apply_chat_template(record["prompt"], tokenize=False,
                                               add_generation_prompt=True)
        whole = tokenizer.apply_chat_template(record["prompt"] + record["completion"],
                                              tokenize=False)
        if not whole.startswith(prompt):
            raise ValueError("the chat template does not extend the prompt with the reply")
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        reply_ids = tokenizer(whole[len(prompt):], add_special_tokens=False)["input_ids"]
        room = max_length - len(reply_ids)
        if room < 1:
            continue  # a reply longer than an example: nothing of the prompt would be left
        prompt_ids = prompt_ids[-room:]
        out.append({"input_ids": prompt_ids + reply_ids,
                    "completion_mask": [0] * len(prompt_ids) + [1] * len(reply_ids)})
    return out


def fine_tune(records_path: Path, base: Path, out: Path, args) -> dict:
    """Fine-tune the model of ``base`` on the records; write it to ``out`` as GGUF."""
    import datasets
    import torch
    import transformers
    from trl import SFTConfig, SFTTrainer

    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    model, tokenizer = weights.load_model(base)
    records = datasets.load_dataset("json", data_files=str(records_path))["train"].to_list()
    examples = tokenized(records, tokenizer, args.max_length)
    config = SFTConfig(output_dir=str(out.parent / "trainer"), max_steps=args.train_steps,
                       per_device_train_batch_size=1, learning_rate=args.learning_rate,
                       lr_scheduler_type="constant", logging_steps=1, save_strategy="no",
                       report_to=[], use_cpu=True, dataloader_num_workers=0, max_length=None,
                       disable_tqdm=True)
    trainer = SFTTrainer(model=model, args=config, processing_class=tokenizer,
                         train_dataset=datasets.Dataset.from_list(examples))
    result = trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    weights.write_gguf(trainer.model, base, out)
    return {"examples": len(examples), "steps": result.global_step, "losses": losses}


# -- the loop -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    metric = get_registry().task(args.task).primary_metric.name
    base = find_weights()
    collect_seeds = list(range(1000, 1000 + args.episodes))
    eval_seeds = list(range(args.eval_episodes))
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()

    with EmbeddedServer() as server:
        print(f"collecting {args.episodes} episodes on {args.task} (temperature "
              f"{args.temperature})", flush=True)
        run_episodes(server, args, collect_seeds, out / "collected", args.temperature)
        lap("collect")
        print(f"evaluating the base model on seeds {eval_seeds}", flush=True)
        before = run_episodes(server, args, eval_seeds, out / "before", 0.0)
        lap("evaluate before")

    records = out / "records.jsonl"
    report = export([out / "collected"], "sft", records,
                    Selection(tasks=(args.task,), top_k=args.keep, split=args.split))
    print(f"kept {report.episodes} episodes: {report.records} records", flush=True)
    if report.records == 0:
        print("no episode could be kept (none was scored on the chosen split): nothing to "
              "train on", file=sys.stderr)
        return 1
    lap("export")

    print(f"fine-tuning for {args.train_steps} steps", flush=True)
    tuned = out / "smollm2-135m-tuned.gguf"
    training = fine_tune(records, base, tuned, args)
    lap("fine-tune")

    with EmbeddedServer(weights=tuned) as server:
        print(f"evaluating the fine-tuned model on seeds {eval_seeds}", flush=True)
        after = run_episodes(server, args, eval_seeds, out / "after", 0.0)
    lap("evaluate after")

    summary = {"task": args.task, "metric": metric, "protocol": args.protocol,
               "split": args.split, "kept": report.episodes, "records": report.records,
               "training": training, "weights": str(tuned), "timings": timings,
               "total_seconds": round(sum(timings.values()), 1),
               "before": summarise(before, metric), "after": summarise(after, metric)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(table(summary))
    return 0


def table(summary: dict) -> str:
    def mean(side: dict) -> str:
        return "-" if side["mean"] is None else f"{side['mean']:.4f}"

    before, after = summary["before"], summary["after"]
    losses = summary["training"]["losses"]
    return "\n".join([
        f"{summary['task']}: {summary['metric']} of the submission, mean over the evaluation "
        "episodes",
        f"  before  {mean(before):>8}  ({before['scored']}/{before['episodes']} scored)",
        f"  after   {mean(after):>8}  ({after['scored']}/{after['episodes']} scored)",
        f"trained on {summary['records']} records from {summary['kept']} episodes, "
        f"{summary['training']['steps']} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}"
        if losses else "no training step logged",
        "time: " + ", ".join(f"{k} {v:.0f} s" for k, v in summary["timings"].items())
        + f"; total {summary['total_seconds']:.0f} s",
    ])


if __name__ == "__main__":
    sys.exit(main())
