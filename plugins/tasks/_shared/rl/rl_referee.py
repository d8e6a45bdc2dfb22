"""The referee of MLGym's RL tasks: rolls out the agent's checkpoints on gymnax environments.

Runs under MLGym's evaluator protocol (working directory: the evaluator folder):
  MLGYM_WORKSPACE   the submission: config.yaml, networks.py, checkpoints/ (5 files)
  MLGYM_SPLIT       "dev" (seeds/dev.json beside this file) or "test" (the hidden seeds)
  MLGYM_HIDDEN_DIR  hidden data, holding test.json, the test split's evaluation seeds
  MLGYM_SEED        the task's seed, folded into every environment key

The agent's code never runs here. Its network code and checkpoints are loaded by a player
(``rl_player.py``), a process in a sandbox of its own, which gets only observations and answers
with actions. This process owns everything that decides the score: the gymnax environment, the
evaluation seeds, the environment state and the return counting.

Protocol (the paper's): each of the 5 checkpoints is rolled out with each of the 5 evaluation
seeds x 256 vectorised environments, 6,400 episodes in all, every environment starting from the
same reset for every checkpoint. An episode lasts until its first ``done`` (terminated, or
truncated at the environment's own step limit); gymnax resets it automatically, and this
referee stops counting its rewards and stops asking for its actions from then on. The score is
the mean return over all episodes (``reward_mean``), with their standard deviation.

Each step is one message: for every checkpoint with environments still running, their
observations, encoded as one array. Every answer is checked: discrete actions must be integer arrays
of shape (n,) with values in [0, num_actions); continuous actions float arrays of shape
(n, *action_shape) without NaN or infinity, which are then clipped to the action space's
bounds, as the environment itself does. Anything else fails the evaluation with a message.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import mlgym_referee as referee

HERE = Path(__file__).resolve().parent
LOCAL_PLAYER = [sys.executable, str(HERE / "rl_player.py")]  # when run by hand, outside MLGym
CHECKPOINTS = 5  # one per training seed
ENVIRONMENTS = 256  # per evaluation seed
SUBMISSION = ("config.yaml", "networks.py")


class EvaluationFailure(Exception):
    """The submission cannot be scored; the message tells the agent why."""


def environment_info(env, env_params) -> dict:
    """What the player's networks.py is told of the environment (train.py computes the same)."""
    import numpy

    space = env.action_space(env_params)
    info = {"env_id": env.name, "observation_shape": list(env.observation_space(env_params).shape)}
    if hasattr(space, "n"):
        return {**info, "action_kind": "discrete", "num_actions": int(space.n)}
    return {**info, "action_kind": "continuous", "action_shape": list(space.shape),
            "action_low": float(numpy.min(space.low)), "action_high": float(numpy.max(space.high))}


def checkpoint_names(workspace: Path) -> list[str]:
    """The checkpoint files of the submission, sorted; EvaluationFailure unless there are 5."""
    for name in SUBMISSION:
        if not (workspace / name).is_file():
            raise EvaluationFailure(f"{name} not found in the workspace")
    folder = workspace / "checkpoints"
    if not folder.is_dir():
        raise EvaluationFailure("checkpoints/ not found in the workspace (run `python train.py` "
                                "to write it)")
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if len(names) != CHECKPOINTS:
        raise EvaluationFailure(f"checkpoints/ must hold exactly {CHECKPOINTS} files, one per "
                                f"training seed; it holds {len(names)}: {names[:10]}")
    return names


def evaluation_seeds(split: str) -> list[int]:
    """The split's evaluation seeds: dev ones beside this file, test ones in the hidden data."""
    if split == "dev":
        path = HERE / "seeds" / "dev.json"
    elif split == "test":
        hidden = os.environ.get("MLGYM_HIDDEN_DIR")
        if not hidden:
            raise EvaluationFailure("MLGYM_HIDDEN_DIR is unset: the test seeds are hidden data")
        path = Path(hidden) / "test.json"
    else:
        raise EvaluationFailure(f"unknown split {split!r}; this task has 'dev' and 'test'")
    seeds = json.loads(path.read_text())["seeds"]
    if not (len(seeds) == 5 and all(type(s) is int and 0 <= s < 2**31 for s in seeds)):
        raise EvaluationFailure(f"{path} must list 5 seeds in [0, 2**31)")
    return seeds


@functools.cache  # one compilation per environment and batch shape, however many rollouts
def environment(env_id: str) -> tuple:
    """(env, params, reset, step) of ``env_id``: gymnax's functions vmapped over environments."""
    import gymnax
    import jax

    env, params = gymnax.make(env_id)
    return (env, params, jax.jit(jax.vmap(env.reset, in_axes=(0, None))),
            jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None))))


class Rollout:
    """C checkpoints x N environments of one gymnax environment, stepped together."""

    def __init__(self, env_id: str, seeds: list[int], checkpoints: int, task_seed: int,
                 environments: int = ENVIRONMENTS):
        import jax
        import numpy

        self.jax, self.np = jax, numpy
        self.env, self.params, self._reset, self._step = environment(env_id)
        self.info = environment_info(self.env, self.params)
        self.checkpoints, self.per_checkpoint = checkpoints, len(seeds) * environments
        # the same N reset keys for every checkpoint: (S, E, key) -> (C * N, key)
        keys = [jax.random.split(jax.random.fold_in(jax.random.PRNGKey(s), task_seed),
                                 environments) for s in seeds]
        keys = jax.numpy.tile(jax.numpy.concatenate(keys), (checkpoints, 1))
        self._step_key = jax.random.fold_in(jax.random.PRNGKey(seeds[0] ^ seeds[-1]),
                                            task_seed + 1)
        self.obs, self.state = self._reset(keys, self.params)
        total = checkpoints * self.per_checkpoint
        self.returns = numpy.zeros(total, dtype=numpy.float64)
        self.running = numpy.ones(total, dtype=bool)
        self.steps = 0

    def observations(self) -> list:
        """Per checkpoint, the observations of its running environments, (n_c, *obs_shape): sent
        as uint8 when that loses nothing (the player hands the policy float32 either way)."""
        obs = self.np.asarray(self.obs).reshape(self.checkpoints, self.per_checkpoint, -1)
        running = self.running.reshape(self.checkpoints, self.per_checkpoint)
        shape = self.info["observation_shape"]
        if self.np.array_equal(obs, obs.astype(self.np.uint8)):  # MinAtar's 0/1 grids: 4x smaller
            obs = obs.astype(self.np.uint8)
        return [obs[c][running[c]].reshape(-1, *shape) for c in range(self.checkpoints)]

    def step(self, actions: list) -> None:
        """Step every environment with the checked ``actions`` of the running ones."""
        np = self.np
        continuous = self.info["action_kind"] == "continuous"
        shape = (len(self.running), *self.info["action_shape"]) if continuous else (
            len(self.running),)
        full = np.zeros(shape, dtype=np.float32 if continuous else np.int32)
        running = self.running.reshape(self.checkpoints, self.per_checkpoint)
        for c, action in enumerate(actions):
            if action is not None:  # None: none of this checkpoint's environments is running
                block = full[c * self.per_checkpoint:(c + 1) * self.per_checkpoint]
                block[running[c]] = action
        keys = self.jax.random.split(self.jax.random.fold_in(self._step_key, self.steps),
                                     len(self.running))
        self.obs, self.state, reward, terminated, truncated, _ = self._step(
            keys, self.state, full, self.params)
        done = np.asarray(terminated) | np.asarray(truncated)
        self.returns += np.where(self.running, np.asarray(reward, dtype=np.float64), 0.0)
        self.running &= ~done
        self.steps += 1

    @property
    def finished(self) -> bool:
        return not self.running.any() or self.steps >= self.params.max_steps_in_episode


def checked_actions(answer, count: int, info: dict, checkpoint: int):
    """The actions of one checkpoint's ``count`` running environments, checked (and clipped)."""
    import numpy

    what = f"the actions of checkpoint {checkpoint}"
    if info["action_kind"] == "discrete":
        actions = referee.decode_array(answer, dtype="iu", shape=(count,), call="act", what=what)
        if count and (actions.min() < 0 or actions.max() >= info["num_actions"]):
            bad = actions[(actions < 0) | (actions >= info["num_actions"])][0]
            raise referee.PlayerError("act", "invalid", f"{what} must lie in [0, "
                                      f"{info['num_actions'] - 1}]; one is {bad}")
        return actions.astype(numpy.int32)
    actions = referee.decode_array(answer, dtype="f", shape=(count, *info["action_shape"]),
                                   finite=True, call="act", what=what)
    return numpy.clip(actions, info["action_low"], info["action_high"]).astype(numpy.float32)


def policy_seed(seeds: list[int], task_seed: int, step: int, checkpoint: int) -> int:
    """The seed of the player's sampling key for one call: a one-way hash of the secrets."""
    text = f"{seeds}/{task_seed}/{step}/{checkpoint}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "big") >> 1


def evaluate(env_id: str, workspace: Path, seeds: list[int], task_seed: int = 0,
             environments: int = ENVIRONMENTS) -> dict[str, float]:
    """Roll out every checkpoint of ``workspace``; the metrics, or an exception saying why not."""
    names = checkpoint_names(workspace)
    rollout = Rollout(env_id, seeds, len(names), task_seed, environments)
    started = time.perf_counter()
    with referee.connect(local=LOCAL_PLAYER) as player:
        loaded = player.call("load", [[names, rollout.info]])[0]
        if loaded != len(names):
            raise referee.PlayerError("load", "invalid", f"load returned {referee.short(loaded)}"
                                      f", not the number of checkpoints ({len(names)})")
        while not rollout.finished:
            observations = rollout.observations()
            asked = [c for c, obs in enumerate(observations) if len(obs)]  # checkpoints running
            batch = [[c, referee.encode_array(observations[c]),
                      policy_seed(seeds, task_seed, rollout.steps, c)] for c in asked]
            answers = dict(zip(asked, player.call("act", batch), strict=True))
            rollout.step([checked_actions(answers[c], len(obs), rollout.info, c) if c in answers
                          else None for c, obs in enumerate(observations)])
    returns = rollout.returns
    per_checkpoint = returns.reshape(len(names), -1).mean(axis=1)
    print(f"{len(returns)} episodes, {rollout.steps} steps in {time.perf_counter() - started:.1f}"
          " s; mean return per checkpoint: "
          + ", ".join(f"{n} {r:.3f}" for n, r in zip(names, per_checkpoint, strict=True)),
          file=sys.stderr)
    return {"reward_mean": round(float(returns.mean()), 4),
            "reward_std": round(float(returns.std()), 4)}


def main(env_id: str) -> int:
    """Evaluate the submission in ``MLGYM_WORKSPACE``; print the metrics line; the exit code."""
    split = os.environ.get("MLGYM_SPLIT", "test")
    task_seed = int(os.environ.get("MLGYM_SEED", "0"))
    workspace = Path(os.environ.get("MLGYM_WORKSPACE", "."))
    try:
        metrics = evaluate(env_id, workspace, evaluation_seeds(split), task_seed)
    except referee.PlayerError as exc:
        return referee.fail(exc)
    except EvaluationFailure as exc:
        return referee.fail(str(exc))
    print(json.dumps(metrics), flush=True)
    return 0
