"""``mlgym run``, ``mlgym show`` and ``mlgym replay``: episodes of an agent on a task."""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
from pathlib import Path

EXIT_CODES = {"interrupted": 130, "error": 1}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run one episode of an agent on a task",
        description="Run one episode of an agent on a task and write its trajectory.json and "
                    "result.json. With no model named (--model, the agent config, or "
                    "MLGYM_MODEL), the LLM agent uses the embedded SmolLM2-135M-Instruct, "
                    "served on loopback for the length of the episode.")
    p.add_argument("--task", required=True, help="task id (see `mlgym list tasks`)")
    p.add_argument("--agent", help="agent id (default: the config's agent, else react)")
    p.add_argument("--config", metavar="AGENT_YAML", help="agent config, merged over the "
                   "agent's default (see `mlgym schema agent`)")
    p.add_argument("--model", help="litellm model name, e.g. openai/gpt-4o, or "
                   "scripted:replies.yaml, or 'embedded'")
    p.add_argument("--api-base", help="base URL of an OpenAI-compatible server "
                   "(e.g. http://127.0.0.1:8000/v1)")
    _environment_arguments(p)
    p.add_argument("--max-steps", type=int, help="step limit (default: the agent config's, "
                   "else the task's)")
    p.add_argument("--cost-limit", type=float, help="dollars per episode (default: the agent "
                   "config's)")
    p.add_argument("--time-limit", type=float, help="wall-clock seconds per episode")
    p.add_argument("--no-changes", action="store_true", help="do not record the workspace's "
                   "changes (diffs) at each step in the trajectory")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("show", help="print a trajectory readably",
                       description="Print a trajectory: steps with the agent's discussion, "
                                   "action and observation, the evaluations and the summary.")
    p.add_argument("trajectory", help="trajectory.json, or the folder holding it")
    p.add_argument("--full", action="store_true", help="print observations and replies whole")
    p.add_argument("--step", type=int, action="append", help="only this step (repeatable)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("replay", help="rerun the actions of a saved trajectory",
                       description="Rerun a trajectory's actions with the replay agent on the "
                                   "same task, seed and protocol, and compare the scores.")
    p.add_argument("trajectory", help="trajectory.json, or the folder holding it")
    _environment_arguments(p, replay=True)
    p.set_defaults(func=cmd_replay)


def _environment_arguments(p: argparse.ArgumentParser, replay: bool = False) -> None:
    same = " (default: the original episode's)" if replay else ""
    p.add_argument("--seed", type=int, default=None, help=f"episode seed{same or ' (default: 0)'}")
    p.add_argument("--backend", help="sandbox backend: bwrap, docker, local... (default: "
                   + ("the original episode's)" if replay else "bwrap where it works, else local)"))
    p.add_argument("--protocol", choices=["mlgym", "strict"],
                   help=f"evaluation protocol{same or ' (default: mlgym)'}")
    p.add_argument("--out", help="folder for trajectory.json and result.json (default: "
                   "<results dir>/<run id>/<task>__<method>__seed<k>)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")


# -- mlgym run --------------------------------------------------------------------------------


def cmd_run(args) -> int:
    from mlgym.agents.base import agent_config

    overrides = {"max_steps": args.max_steps, "cost_limit": args.cost_limit}
    model = {k: v for k, v in (("name", args.model), ("api_base", args.api_base)) if v}
    if model:
        overrides["model"] = model
    config = agent_config(args.agent, args.config, overrides)
    return run_from_config(config, args)


def run_from_config(config: dict, args, replay_of: dict | None = None) -> int:
    """Run the episode of ``config`` and the command line's arguments, print the summary."""
    from mlgym.agents.launch import EpisodeSpec, run_episode_from_spec
    from mlgym.agents.runner import ProgressView, summary
    from mlgym.plugins.registry import get_registry

    task = get_registry().task(args.task)
    spec = EpisodeSpec(task=task.id, config=config, seed=0 if args.seed is None else args.seed,
                       protocol=args.protocol or "mlgym", backend=args.backend,
                       time_limit=getattr(args, "time_limit", None), out_dir=args.out,
                       record_changes=not getattr(args, "no_changes", False))
    progress = ProgressView(quiet=args.quiet)
    with _sigterm_as_interrupt():
        launched = run_episode_from_spec(spec, progress)
    data = launched.trajectory
    if args.quiet:
        print(summary(data, task))
    if replay_of is not None:
        print(_comparison(replay_of, data))
    print(f"trajectory: {launched.out_dir / 'trajectory.json'}")
    return EXIT_CODES.get(data["exit_reason"], 0)


class _sigterm_as_interrupt:
    """``kill <pid>`` stops an episode as cleanly as Ctrl-C does."""

    def __enter__(self):
        self.previous = None
        try:
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        except ValueError:  # not the main thread
            pass
        return self

    @staticmethod
    def _raise(*_):
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


# -- mlgym replay -----------------------------------------------------------------------------


def cmd_replay(args) -> int:
    from mlgym.agents import trajectory
    from mlgym.agents.base import agent_config

    original = trajectory.load(args.trajectory)
    environment = original["config"]["environment"]
    args.task = original["task"]
    args.seed = original["seed"] if args.seed is None else args.seed
    args.protocol = args.protocol or original["protocol"]
    args.backend = args.backend or original["backend"]
    args.time_limit = environment.get("time_limit")
    path = Path(args.trajectory)
    overrides = {"options": {"trajectory": str(path.resolve())},
                 "max_steps": environment.get("max_steps"),
                 "tools": original["config"]["agent"].get("tools") or environment.get("tools") or []}
    config = agent_config("replay", None, overrides)
    return run_from_config(config, args, replay_of=original)


def _comparison(original: dict, replayed: dict) -> str:
    def final(data: dict) -> str:
        submission = data.get("submission")
        if not submission:
            return "no submission"
        if not submission["ok"]:
            return "failed submission"
        return ", ".join(f"{k} {v:.6g}" for k, v in (submission["scores"] or {}).items())

    same = [a["action"] for a in original["steps"]] == [b["action"] for b in replayed["steps"]]
    return (f"original: {final(original)} ({original['exit_reason']}, {len(original['steps'])} "
            f"steps)\nreplay:   {final(replayed)} ({replayed['exit_reason']}, "
            f"{len(replayed['steps'])} steps{'' if same else ', actions differ'})")


# -- mlgym show -------------------------------------------------------------------------------


def cmd_show(args) -> int:
    from mlgym.agents import trajectory
    from mlgym.agents.runner import summary

    data = trajectory.load(args.trajectory)
    width = 100
    out = sys.stdout
    out.write(f"{data['method']} on {data['task']} (seed {data['seed']}, protocol "
              f"{data['protocol']}, backend {data['backend']})\n"
              f"started {data['started_at']}, run {data['run_id']}, mlgym-core "
              f"{data['versions']['mlgym-core']}\n\n")
    limit = None if args.full else 25
    for step in data["steps"]:
        if args.step and step["step"] not in args.step:
            continue
        head = (f"── step {step['step']} · agent {step['agent_time']:.1f} s · env "
                f"{step['env_time']:.1f} s · {step['tokens']['input']}→{step['tokens']['output']}"
                f" tokens · ${step['cost']:.4f} ")
        out.write(head + "─" * max(0, width - len(head)) + "\n")
        for error in step.get("format_errors") or []:
            out.write(f"[malformed reply] {error['error']}\n")
            out.write(_indent(error["reply"], limit) + "\n")
        if step["thought"]:
            out.write(_wrap(step["thought"], width) + "\n")
        out.write("$ " + step["action"].replace("\n", "\n  ") + "\n")
        out.write(_indent(step["observation"], limit) + "\n")
        if step.get("scores"):
            out.write("scores: " + ", ".join(f"{k} {v}" for k, v in step["scores"].items()) + "\n")
        out.write("\n")
    final = data.get("final_turn")
    if final and not args.step:
        head = "── the agent's last turn, which ended the episode "
        out.write(head + "─" * max(0, width - len(head)) + "\n")
        for error in final.get("format_errors") or []:
            out.write(f"[malformed reply] {error['error']}\n{_indent(error['reply'], limit)}\n")
        out.write("\n")
    if data["evaluations"]:
        out.write("evaluations:\n")
        for e in data["evaluations"]:
            scores = ", ".join(f"{k} {v:.6g}" for k, v in (e["scores"] or {}).items())
            out.write(f"  step {e['step']}: {e['action']} on {e['split']}: "
                      f"{scores if e['ok'] else 'failed: ' + (e['error'] or '').strip()[:200]}\n")
    out.write(summary(data, _known_task(data["task"])) + "\n")
    return 0


def _indent(text: str, limit: int | None) -> str:
    lines = text.split("\n")
    if limit is not None and len(lines) > limit:
        cut = len(lines) - limit
        lines = lines[: limit // 2] + [f"... ({cut} lines cut; --full shows them)"] + lines[-(limit - limit // 2):]
    return "\n".join("  " + line for line in lines)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width) if line.strip() else "" for line in text.split("\n"))


def _known_task(task_id: str):
    """The installed task of that id, or None (a trajectory can be shown without its task)."""
    from mlgym.errors import MLGymError
    from mlgym.plugins.registry import get_registry

    try:
        return get_registry().task(task_id)
    except (MLGymError, KeyError):
        return None
