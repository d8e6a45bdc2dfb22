"""The policy network of the PPO starter, and how a checkpoint of it is loaded for evaluation.

The evaluator's player imports this file from your workspace and calls ``load_policy`` once per
checkpoint in ``checkpoints/``; it then calls the returned ``policy`` with batches of
observations. Change the network as you like, but keep ``load_policy``'s contract:

    load_policy(checkpoint: str, config: dict, env_info: dict) -> policy
    policy(observations, key) -> actions

- ``checkpoint``: the path of one file in ``checkpoints/`` (read-only);
- ``config``: ``config.yaml`` as a dict;
- ``env_info``: ``{"env_id", "observation_shape", "action_kind": "discrete" | "continuous",
  "num_actions" (discrete), "action_shape", "action_low", "action_high" (continuous)}``;
- ``observations``: a float32 numpy array of shape (batch, *observation_shape);
- ``key``: a JAX PRNG key, fresh for every call, for a stochastic policy;
- actions: shape (batch,) of integers in [0, num_actions) for a discrete action space, or
  (batch, *action_shape) of finite floats for a continuous one (the evaluator clips them to
  [action_low, action_high], as the environment does).
"""

from __future__ import annotations

import functools

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np


class ActorCritic(nn.Module):
    """Two separate MLPs on the flattened observation: the policy head and the value head.

    Discrete actions: the policy head gives logits (batch, num_actions). Continuous actions: it
    gives the mean (batch, action_dim) of a Gaussian whose log standard deviation is a learned
    vector, independent of the observation.
    """

    action_dim: int
    discrete: bool
    hidden_size: int = 256
    num_layers: int = 2

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        x = obs.reshape((obs.shape[0], -1))  # (batch, *obs_shape) -> (batch, features)
        orthogonal = nn.initializers.orthogonal

        value = x
        for i in range(self.num_layers):
            value = nn.tanh(nn.Dense(self.hidden_size, kernel_init=orthogonal(np.sqrt(2)),
                                     name=f"value_{i}")(value))
        value = nn.Dense(1, kernel_init=orthogonal(1.0), name="value_out")(value)[:, 0]

        policy = x
        for i in range(self.num_layers):
            policy = nn.tanh(nn.Dense(self.hidden_size, kernel_init=orthogonal(np.sqrt(2)),
                                      name=f"policy_{i}")(policy))
        # a small last layer starts the policy near uniform (discrete) or near zero (continuous)
        out = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01), name="policy_out")(policy)
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))
        return out, log_std, value


def make_network(config: dict, env_info: dict) -> ActorCritic:
    """The network ``config["network"]`` describes, sized for the environment."""
    discrete = env_info["action_kind"] == "discrete"
    action_dim = env_info["num_actions"] if discrete else int(np.prod(env_info["action_shape"]))
    return ActorCritic(action_dim=action_dim, discrete=discrete, **config.get("network", {}))


def sample_action(network: ActorCritic, out: jax.Array, log_std: jax.Array,
                  key: jax.Array) -> jax.Array:
    """One action per row: (batch,) ints, or (batch, action_dim) floats."""
    if network.discrete:
        return jax.random.categorical(key, out)
    return out + jnp.exp(log_std) * jax.random.normal(key, out.shape)


def log_prob(network: ActorCritic, out: jax.Array, log_std: jax.Array,
             action: jax.Array) -> jax.Array:
    """log pi(action | obs), shape (batch,)."""
    if network.discrete:
        logp = jax.nn.log_softmax(out)
        return jnp.take_along_axis(logp, action[:, None].astype(jnp.int32), axis=1)[:, 0]
    z = (action - out) / jnp.exp(log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi), axis=-1)


def entropy(network: ActorCritic, out: jax.Array, log_std: jax.Array) -> jax.Array:
    """Entropy of the policy at each row, shape (batch,)."""
    if network.discrete:
        logp = jax.nn.log_softmax(out)
        return -jnp.sum(jnp.exp(logp) * logp, axis=-1)
    per_dim = log_std + 0.5 * jnp.log(2 * jnp.pi * jnp.e)
    return jnp.broadcast_to(jnp.sum(per_dim), out.shape[:1])


# -- checkpoints: one file per training seed, flax's msgpack of {"params": ...} ------------------

def save_checkpoint(path: str, params) -> None:
    with open(path, "wb") as f:
        f.write(flax.serialization.msgpack_serialize({"params": jax.device_get(params)}))


@functools.partial(jax.jit, static_argnums=0)  # compiled once per network and batch shape
def act(network: ActorCritic, params, obs: jax.Array, key: jax.Array) -> jax.Array:
    out, log_std, _ = network.apply({"params": params}, obs)
    return sample_action(network, out, log_std, key)


def load_policy(checkpoint: str, config: dict, env_info: dict):
    """The policy of one checkpoint: a function (observations, key) -> actions (see above)."""
    network = make_network(config, env_info)
    with open(checkpoint, "rb") as f:
        params = flax.serialization.msgpack_restore(f.read())["params"]
    return functools.partial(act, network, params)
