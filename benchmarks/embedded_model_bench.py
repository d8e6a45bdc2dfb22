"""Time the embedded model (SmolLM2-135M-Instruct on llama.cpp's server) as the react agent uses it.

It prints:

* server start: from launching the server to its first answer on ``/v1/models``;
* cold call: the react agent's real first prompt for a small model (short system prompt, the
  example session, the task prompt) with its grammar, nothing cached; the prompt size in tokens
  is shown;
* warm call: the same prompt plus one short observation, so that the server reuses what it has
  already read (as each new step of an episode does): about what a step of the demo costs;
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

from mlgym.agents import EmbeddedServer, ModelConfig, agent_config, make_model
from mlgym.episode import MLGymEnv
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
        config = server.model_config()
        script = ScriptedModel(["Step 1: I will list the files.\n```\nls\n```"],
                               config=ModelConfig.from_dict(config))
        agent = ReactAgent(agent_config("react"), model=script)
        env = MLGymEnv(task, backend="bwrap", tools=list(agent.tools))
        observation, info = env.reset(seed=0)  # the task prompt as the episode gives it
        env.close()
        agent.reset(observation, info)
        agent.act(observation, info)
        messages, grammar = script.prompts[0], agent._grammar()
        model = make_model(config)

        def timed(label: str, msgs: list[dict]) -> None:
            begin = time.monotonic()
            reply = model.query(msgs, grammar=grammar)
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
