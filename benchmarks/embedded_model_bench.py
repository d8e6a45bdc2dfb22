"""Time the embedded model (SmolLM2-135M-Instruct via llama-cpp-python) as the react agent uses it.

It prints:

* server start: from launching the server to its first answer on ``/v1/models``;
* cold call: the react agent's real first prompt (system prompt with every installed tool
  bundle's docs + a task prompt), nothing cached; the prompt size in tokens is shown;
* warm call: the same prompt plus one short observation, so that the server reuses what it has
  already read (as each new step of an episode does);
* decode speed: output tokens per second of a reply forced to its full length.

Usage::

    python benchmarks/embedded_model_bench.py [--task prisoners-dilemma] [--threads N]

The figures depend on how busy the machine is: llama.cpp's threads spin while they wait, so
other work on the same cores slows it down many times over.
"""

from __future__ import annotations

import argparse
import os
import time

from mlgym.agents import EmbeddedServer, agent_config, make_model
from mlgym.plugins import get_registry
from mlgym.testing import ScriptedModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="prisoners-dilemma")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    from mlgym_agent_react.agent import ReactAgent

    task = get_registry().task(args.task)
    start = time.monotonic()
    with EmbeddedServer(threads=args.threads) as server:
        print(f"server start: {time.monotonic() - start:.1f} s "
              f"({server.threads} thread(s), {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
        # the prompt the agent sends at step 1, captured with a scripted model
        script = ScriptedModel(["```\nls\n```"])
        agent = ReactAgent(agent_config("react"), model=script)
        agent.reset(task.description, {"step": 0})
        agent.act(task.description, {"step": 0})
        messages = script.prompts[0]
        model = make_model({**server.model_config(), "max_tokens": 16})

        def timed(label: str, msgs: list[dict]) -> None:
            begin = time.monotonic()
            reply = model.query(msgs)
            print(f"{label}: {time.monotonic() - begin:.1f} s for {reply.input_tokens} prompt "
                  f"tokens, {reply.output_tokens} output tokens")

        timed("cold call", messages)
        timed("warm call", messages + [{"role": "assistant", "content": "```\nls\n```"},
                                       {"role": "user", "content": "strategy.py\nevaluate.py"}])
        long = make_model({**server.model_config(), "max_tokens": 200})
        begin = time.monotonic()
        reply = long.query([{"role": "user", "content": "Write a long story about a robot."}])
        seconds = time.monotonic() - begin
        print(f"decode speed: {reply.output_tokens / seconds:.1f} tokens/s "
              f"({reply.output_tokens} tokens in {seconds:.1f} s, short prompt)")


if __name__ == "__main__":
    main()
