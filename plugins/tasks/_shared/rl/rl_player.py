"""The player of MLGym's RL tasks: the agent's policies, answering batches of observations.

Started by MLGym in a sandbox of its own (the workspace read-only, no hidden data, no network, a
fresh ``/tmp``), apart from ``evaluate.py``, the referee, which owns the environments, their seeds
and the returns, and checks every action this process sends back. Two calls
(``mlgym_player.py`` has the protocol):

    load(names, env_info) -> number of policies
        imports networks.py from the workspace and calls
        ``networks.load_policy("checkpoints/<name>", config, env_info)`` for each name, with
        config.yaml as a dict;
    act(index, observations, seed) -> actions
        ``observations`` an encoded array (batch, *observation_shape) for policy ``index``;
        the policy gets them as float32, with a JAX key made from ``seed``; the actions go back
        encoded, one row per observation.

Batches are padded to a multiple of PAD rows (copies of the first row) before they reach the
policy, so a jitted policy compiles for a handful of shapes although fewer environments are
running as their episodes end; the padding's actions are dropped (a policy that returns
another number of rows gets its answer sent as it is, which the referee refuses).
"""

import os

import mlgym_player

PAD = 256
policies = []


def load(names, env_info):
    import yaml

    workspace = os.environ.get("MLGYM_WORKSPACE", ".")
    with open(os.path.join(workspace, "config.yaml")) as f:
        config = yaml.safe_load(f)
    networks = mlgym_player.workspace_module("networks.py")
    load_policy = getattr(networks, "load_policy", None)
    if not callable(load_policy):
        raise TypeError("networks.py defines no function load_policy")
    policies.clear()
    for name in names:
        policies.append(load_policy(os.path.join(workspace, "checkpoints", name), config,
                                    dict(env_info)))
    return len(policies)


def act(index, observations, seed):
    import jax
    import numpy

    obs = mlgym_player.decode_array(observations, what="the observations").astype(numpy.float32)
    count = len(obs)
    rows = -(-count // PAD) * PAD
    if rows > count:
        obs = numpy.concatenate([obs, numpy.repeat(obs[:1], rows - count, axis=0)])
    actions = numpy.asarray(policies[index](obs, jax.random.PRNGKey(seed)))
    if actions.ndim and len(actions) == rows:  # else the referee refuses the shape as it is
        actions = actions[:count]
    return mlgym_player.encode_array(actions)


if __name__ == "__main__":
    mlgym_player.serve({"load": load, "act": act})
