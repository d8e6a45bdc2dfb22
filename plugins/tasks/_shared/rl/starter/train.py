"""Train the PPO baseline on this task's gymnax environment and write one checkpoint per seed.

    python train.py                      # hyperparameters from config.yaml
    python train.py --total-timesteps 200000 --config config.yaml --out checkpoints

Everything runs in JAX: the environments are vmapped gymnax environments, a rollout is a
``lax.scan`` over time, an update is PPO's clipped objective over shuffled minibatches, and the
``num_seeds`` training runs are vmapped too, so all of them train at once in one compiled
program. It runs on the CPU, or on a GPU when the installed JAX sees one (``pip install
"jax[cuda12]"``), with no change here.

Writes ``checkpoints/seed-<k>.msgpack`` for k = 0..num_seeds-1 (``networks.save_checkpoint``:
flax msgpack of ``{"params": ...}``). The evaluator loads each with ``networks.load_policy``.

Shapes: E = num_envs, T = num_steps (rollout length), B = E * T transitions per update,
S = num_seeds (the leading axis of everything once vmapped over seeds).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from typing import NamedTuple

import gymnax
import jax
import jax.numpy as jnp
import networks
import numpy as np
import optax
import yaml


class Transition(NamedTuple):
    obs: jax.Array  # (T, E, *obs_shape)
    action: jax.Array  # (T, E) ints or (T, E, action_dim) floats
    log_prob: jax.Array  # (T, E) log pi(action | obs) when it was sampled
    value: jax.Array  # (T, E) V(obs) when it was sampled
    reward: jax.Array  # (T, E)
    done: jax.Array  # (T, E) whether the episode ended at this step (gymnax then auto-resets)


class Runner(NamedTuple):
    """Everything one training run carries from one update to the next."""

    params: dict
    opt_state: optax.OptState
    env_state: object  # gymnax state of the E environments
    obs: jax.Array  # (E, *obs_shape) the current observations
    episode_return: jax.Array  # (E,) return so far of each running episode
    key: jax.Array


INTEGERS = ("seed", "num_seeds", "total_timesteps", "num_envs", "num_steps", "update_epochs",
            "num_minibatches", "log_count")
FLOATS = ("learning_rate", "gamma", "gae_lambda", "clip_eps", "ent_coef", "vf_coef",
          "max_grad_norm")


def read_config(path: str) -> dict:
    """config.yaml, with numbers as numbers (YAML reads 3e-4 as a string)."""
    with open(path) as f:
        cfg = yaml.safe_load(f)
    for name in INTEGERS:
        cfg[name] = int(float(cfg[name]))
    for name in FLOATS:
        cfg[name] = float(cfg[name])
    return cfg


def environment_info(env, env_params) -> dict:
    """What networks.py needs to know of the environment (the evaluator sends the same)."""
    space = env.action_space(env_params)
    info = {"env_id": env.name, "observation_shape": list(env.observation_space(env_params).shape)}
    if hasattr(space, "n"):
        return {**info, "action_kind": "discrete", "num_actions": int(space.n)}
    return {**info, "action_kind": "continuous", "action_shape": list(space.shape),
            "action_low": float(np.min(space.low)), "action_high": float(np.max(space.high))}


def make_ppo(cfg: dict, env, env_params, network: networks.ActorCritic):
    """The two functions of one training run: ``init(key) -> Runner`` and
    ``update(runner, num_updates) -> (runner, (return_sum, episodes))``."""
    E, T = cfg["num_envs"], cfg["num_steps"]
    batch_size = E * T
    minibatch_size = batch_size // cfg["num_minibatches"]
    total_updates = max(1, cfg["total_timesteps"] // batch_size)
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def learning_rate(count):  # count = minibatch steps so far
        if not cfg["anneal_lr"]:
            return cfg["learning_rate"]
        steps_per_update = cfg["num_minibatches"] * cfg["update_epochs"]
        progress = jnp.minimum(count // steps_per_update / total_updates, 1.0)
        return cfg["learning_rate"] * (1.0 - progress)

    optimizer = optax.chain(optax.clip_by_global_norm(cfg["max_grad_norm"]),
                            optax.adam(learning_rate, eps=1e-5))

    def init(key: jax.Array) -> Runner:
        key, init_key, reset_key = jax.random.split(key, 3)
        obs, env_state = reset(jax.random.split(reset_key, E), env_params)
        params = network.init(init_key, obs)["params"]
        return Runner(params, optimizer.init(params), env_state, obs, jnp.zeros(E), key)

    def env_step(runner: Runner, _):
        key, action_key, step_key = jax.random.split(runner.key, 3)
        out, log_std, value = network.apply({"params": runner.params}, runner.obs)
        action = networks.sample_action(network, out, log_std, action_key)
        log_prob = networks.log_prob(network, out, log_std, action)
        obs, env_state, reward, terminated, truncated, _ = step(
            jax.random.split(step_key, E), runner.env_state, action, env_params)
        done = jnp.logical_or(terminated, truncated)
        episode_return = runner.episode_return + reward
        finished = (jnp.sum(jnp.where(done, episode_return, 0.0)), jnp.sum(done))
        transition = Transition(runner.obs, action, log_prob, value, reward, done)
        runner = runner._replace(env_state=env_state, obs=obs, key=key,
                                 episode_return=jnp.where(done, 0.0, episode_return))
        return runner, (transition, finished)

    def advantages(traj: Transition, last_value: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Generalised advantage estimates and value targets, both (T, E)."""
        def backwards(carry, t):
            gae, next_value = carry
            not_done = 1.0 - t.done
            delta = t.reward + cfg["gamma"] * next_value * not_done - t.value
            gae = delta + cfg["gamma"] * cfg["gae_lambda"] * not_done * gae
            return (gae, t.value), gae

        _, adv = jax.lax.scan(backwards, (jnp.zeros_like(last_value), last_value), traj,
                              reverse=True)
        return adv, adv + traj.value

    def loss(params, batch: Transition, adv: jax.Array, target: jax.Array):
        out, log_std, value = network.apply({"params": params}, batch.obs)
        ratio = jnp.exp(networks.log_prob(network, out, log_std, batch.action) - batch.log_prob)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        clip = cfg["clip_eps"]
        policy_loss = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - clip, 1 + clip) * adv).mean()
        value_clipped = batch.value + jnp.clip(value - batch.value, -clip, clip)
        value_loss = 0.5 * jnp.maximum((value - target) ** 2,
                                       (value_clipped - target) ** 2).mean()
        ent = networks.entropy(network, out, log_std).mean()
        return policy_loss + cfg["vf_coef"] * value_loss - cfg["ent_coef"] * ent

    def epoch(carry, _):
        params, opt_state, key, traj, adv, target = carry
        key, perm_key = jax.random.split(key)
        order = jax.random.permutation(perm_key, batch_size)

        def minibatches(x):  # (T, E, ...) -> (num_minibatches, minibatch_size, ...)
            x = x.reshape((batch_size, *x.shape[2:]))[order]
            return x.reshape((cfg["num_minibatches"], minibatch_size, *x.shape[1:]))

        def sgd_step(state, mb):
            params, opt_state = state
            grads = jax.grad(loss)(params, *mb)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        data = jax.tree.map(minibatches, (traj, adv, target))
        (params, opt_state), _ = jax.lax.scan(sgd_step, (params, opt_state), data)
        return (params, opt_state, key, traj, adv, target), None

    def one_update(runner: Runner, _):
        runner, (traj, finished) = jax.lax.scan(env_step, runner, None, T)
        _, _, last_value = network.apply({"params": runner.params}, runner.obs)
        adv, target = advantages(traj, last_value)
        key, epoch_key = jax.random.split(runner.key)
        (params, opt_state, *_), _ = jax.lax.scan(
            epoch, (runner.params, runner.opt_state, epoch_key, traj, adv, target), None,
            cfg["update_epochs"])
        runner = runner._replace(params=params, opt_state=opt_state, key=key)
        return runner, (finished[0].sum(), finished[1].sum())

    def update(runner: Runner, num_updates: int):
        runner, (returns, episodes) = jax.lax.scan(one_update, runner, None, num_updates)
        return runner, (returns.sum(), episodes.sum())

    return init, update, total_updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--out", default="checkpoints")
    parser.add_argument("--total-timesteps", type=int, help="overrides config.yaml's")
    args = parser.parse_args()
    cfg = read_config(args.config)
    if args.total_timesteps:
        cfg["total_timesteps"] = args.total_timesteps

    env, env_params = gymnax.make(cfg["env_id"])
    network = networks.make_network(cfg, environment_info(env, env_params))
    init, update, total_updates = make_ppo(cfg, env, env_params, network)
    chunk = max(1, math.ceil(total_updates / cfg["log_count"]))  # updates between log lines
    steps_per_update = cfg["num_envs"] * cfg["num_steps"]
    print(f"{cfg['env_id']} on {jax.default_backend()}: {cfg['num_seeds']} seeds x "
          f"{total_updates} updates x {steps_per_update} steps", flush=True)

    seeds = jax.random.split(jax.random.PRNGKey(cfg["seed"]), cfg["num_seeds"])
    runner = jax.jit(jax.vmap(init))(seeds)
    run_chunk = jax.jit(jax.vmap(update, in_axes=(0, None)), static_argnums=1)
    start, done = time.perf_counter(), 0
    while done < total_updates:
        n = min(chunk, total_updates - done)
        chunk_start = time.perf_counter()  # the first chunk's time includes compilation
        runner, (returns, episodes) = run_chunk(runner, n)
        per_seed = np.asarray(returns) / np.maximum(np.asarray(episodes), 1)  # waits for it
        rate = n * steps_per_update * cfg["num_seeds"] / (time.perf_counter() - chunk_start)
        done += n
        print(f"steps {done * steps_per_update:>11,} per seed; mean return of the episodes "
              f"ended: {np.array2string(per_seed, precision=1)} ({rate:,.0f} steps/s over "
              "all seeds)", flush=True)

    os.makedirs(args.out, exist_ok=True)
    for k in range(cfg["num_seeds"]):
        params = jax.tree.map(lambda x, k=k: x[k], runner.params)
        networks.save_checkpoint(os.path.join(args.out, f"seed-{k}.msgpack"), params)
    print(f"wrote {cfg['num_seeds']} checkpoints to {args.out}/ in "
          f"{time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
