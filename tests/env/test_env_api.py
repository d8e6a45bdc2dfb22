"""The Gymnasium contract: spaces, reset/step, check_env, garbage actions, close."""

from __future__ import annotations

import random
from pathlib import Path

import gymnasium
import pytest

from mlgym.episode import MLGymEnv, check_action, fit_text
from mlgym.errors import ConfigError, UnknownIdError
from mlgym.plugins import get_registry
from mlgym.testing import assert_passes_check_env

INSTALLED_TASKS = get_registry().ids("tasks")


def test_check_env_on_fixture_task(backend, mlgym_fixtures):
    env = gymnasium.make("mlgym/fixture-threshold", backend=backend)
    try:
        assert_passes_check_env(env.unwrapped)
    finally:
        env.close()


@pytest.mark.slow
@pytest.mark.parametrize("task_id", INSTALLED_TASKS)
def test_check_env_on_every_installed_task(task_id):
    """Every task passes check_env where its data can be had. A task whose data only the hub
    has, on a machine that cannot reach it, fails its reset with what to set instead (its own
    tests run it on data made in the hub's format)."""
    from mlgym.episode import register_envs
    from mlgym.episode.datasets import status
    from mlgym.errors import DataUnavailableError

    registry = get_registry()
    missing = [status(registry.get("datasets", dataset))
               for dataset, _ in registry.task(task_id).datasets]
    missing = [s for s in missing if not s.ready]
    register_envs([task_id])
    env = gymnasium.make(f"mlgym/{task_id}")
    try:
        if missing:
            try:
                env.reset()
            except DataUnavailableError as exc:
                assert f"dataset {missing[0].id!r}" in str(exc)
                assert "MLGYM_HF_MIRROR" in str(exc) and "HF_ENDPOINT" in str(exc)
                return
        assert_passes_check_env(env.unwrapped)
    finally:
        env.close()


def test_make_passes_options_and_suggests_near_ids(mlgym_fixtures):
    env = gymnasium.make("mlgym/fixture-threshold", backend="local", protocol="strict",
                         max_steps=7, cost_limit=1.5)
    try:
        inner = env.unwrapped
        assert isinstance(inner, MLGymEnv)
        assert (inner.protocol, inner.max_steps, inner.cost_limit) == ("strict", 7, 1.5)
        assert inner.splits == {"validate": "dev", "submit": "test"}
    finally:
        env.close()
    with pytest.raises(gymnasium.error.Error, match="fixture-threshold"):
        gymnasium.make("mlgym/fixture-treshold")


def test_bad_options_raise_config_errors(mlgym_fixtures, task_variant):
    with pytest.raises(ConfigError, match="protocol='lenient'"):
        MLGymEnv("fixture-threshold", backend="local", protocol="lenient")
    with pytest.raises(ConfigError, match="max_steps=0"):
        MLGymEnv("fixture-threshold", backend="local", max_steps=0)
    with pytest.raises(UnknownIdError, match="Did you mean 'fixture-threshold'"):
        MLGymEnv("fixture-treshold", backend="local")
    with pytest.raises(UnknownIdError, match="fixture-tools"):
        MLGymEnv("fixture-threshold", backend="local", tools=["fixture-tool"])
    test_only = task_variant(splits=["test"])
    with pytest.raises(ConfigError, match="no dev split"):
        MLGymEnv(test_only, backend="local", protocol="strict")


def test_reset_gives_a_fresh_workspace(backend, make_env):
    env = make_env(backend=backend)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    assert "predict.py" in obs and "fixture-numbers/  (read-only)" in obs
    assert "prefix it with `long `" in obs.lower() and "`submit`" in obs
    assert info["task"] == "fixture-threshold" and info["step"] == 0
    assert info["baseline"] == {"accuracy": 0.925, "errors": 3}
    assert info["budgets"]["max_steps"] == 30 and info["evaluations"] == []
    assert "notes.txt" in env.step("echo scratch > notes.txt && ls")[0]
    env.reset()
    listing = env.step("ls")[0]
    assert "notes.txt" not in listing and "predict.py" in listing
    if backend != "local":
        assert env.step("stat -c %u predict.py")[0] == "61000"
        assert env.step("stat -c %u data/fixture-numbers/numbers.csv")[0] == "0"


GARBAGE = [
    None, 42, b"ls", ["ls"], "", "   \n\t ", "\0rm -rf /", "ls\0", "\ud800\udfff",
    "x" * 10_000_000, "validate now", "submit\nls", "'unbalanced \"quotes", "$(", "`", "\\",
    "}{)(", "if then fi", "cat <<EOF", "exit 3", "exec 1>&-",
]


@pytest.mark.parametrize("action", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_action_gives_an_observation_not_an_exception(make_env, action):
    env = make_env(backend="local")
    env.reset()
    obs, reward, terminated, truncated, info = env.step(action)
    assert env.observation_space.contains(obs) and obs
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert env.step("echo still here")[0] == "still here"


def test_random_and_binary_text_on_every_backend(backend, make_env):
    env = make_env(backend=backend)
    env.reset()
    rng = random.Random(0)
    actions = ["".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(2000)),
               bytes(rng.randrange(256) for _ in range(3000)).decode("latin-1"),
               env.action_space.sample()]
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        assert env.observation_space.contains(obs)
        assert not terminated and not truncated
    # random text may hold '&': a background job's error can arrive late, so wait for them first
    assert env.step("wait; echo ok")[0].splitlines()[-1] == "ok"


def test_check_action_messages():
    assert "got a NoneType" in check_action(None, 10)
    assert "11 characters long; the limit is 10" in check_action("x" * 11, 10)
    assert "NUL" in check_action("a\0", 10)
    assert "empty" in check_action(" ", 10)
    assert check_action("ls -la", 10) is None


def test_fit_text_keeps_head_and_tail_within_the_limit():
    text = "A" * 600 + "B" * 400
    fitted = fit_text(text, 200)
    assert len(fitted) <= 200 and fitted.startswith("A") and fitted.endswith("B")
    cut = int(fitted.split("[... ")[1].split(" characters cut")[0])
    assert len(fitted) - len(fitted.split("\n")[1]) - 2 + cut == len(text)
    assert fit_text("short", 200) == "short"
    assert fit_text("x" * 200, 200) == "x" * 200
    assert len(fit_text("x" * 1000, 10)) <= 10
    assert fit_text("a\r\nb\rc\x1b[31m\x00", 100) == "a\nb\nc\ufffd[31m\ufffd"


def test_long_output_and_control_characters_fit_the_space(backend, make_env):
    env = make_env(backend=backend, observation_limit=5000)
    env.reset()
    obs = env.step("python3 -c \"print('A' * 50000 + 'Z' * 50000)\"")[0]
    assert len(obs) <= 5000 and obs.startswith("AAA") and obs.endswith("ZZZ")
    assert "characters cut" in obs
    obs = env.step("printf 'bell\\a esc\\033[1m nul\\000 ok\\n'; head -c 300 /dev/urandom")[0]
    assert env.observation_space.contains(obs) and obs.startswith("bell\ufffd esc")


def test_step_before_reset_and_after_the_end(make_env):
    env = make_env(backend="local")
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step("ls")
    env.reset()
    env.step("python3 predict.py")
    assert env.step("submit")[2] is True
    obs, reward, terminated, truncated, info = env.step("ls")
    assert "episode is over (submitted)" in obs and terminated and reward == 0.0
    env.close()
    env.close()  # twice is fine
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step("ls")


def test_timeout_rule_and_long_prefix(backend, make_env, task_variant):
    task = task_variant(limits={"command_timeout": 1, "training_timeout": 60})
    env = make_env(task, backend=backend)
    env.reset()
    obs, *_, info = env.step("python3 -c 'import time; time.sleep(60); print(\"finished\")'")
    assert "finished" not in obs and info["timed_out"] is True
    assert "longer than 1 s" in obs and "prefix the command with `long `" in obs
    obs, *_, info = env.step("long sleep 2; echo finished")
    assert obs == "finished" and info["timed_out"] is False
    assert env.step("echo long words")[0] == "long words"  # only a prefix `long ` counts
    assert env.step("cd data && pwd")[0].endswith("workspace/data")  # the shell kept going


def test_exit_codes_and_restarted_shell(backend, make_env):
    env = make_env(backend=backend)
    env.reset()
    obs, *_, info = env.step("ls no-such-file")
    assert "[exit code 2]" in obs and info["exit_code"] == 2
    assert env.step("true")[0] == "(no output)"
    env.step("export KEPT=yes")
    assert env.step("echo ${KEPT:-gone}")[0] == "yes"
    obs = env.step("exit 0")[0]
    assert "the shell had died and was restarted" in obs
    assert env.step("echo ${KEPT:-gone}")[0] == "gone"


def test_render_modes(make_env):
    env = make_env(backend="local", render_mode="ansi")
    obs, _ = env.reset()
    assert env.render() == obs
    with pytest.raises(ConfigError, match="render_mode"):
        MLGymEnv("fixture-threshold", backend="local", render_mode="rgb_array")


def test_close_removes_the_workspace(backend, make_env):
    env = make_env(backend=backend)
    env.reset()
    root = Path(env._workspace.root)
    assert root.exists()
    env.close()
    assert not root.exists()
    assert str(root) not in Path("/proc/mounts").read_text()
