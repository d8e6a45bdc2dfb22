"""Every installed task is a Gymnasium environment ``mlgym/<task id>``."""

from __future__ import annotations

import json
import subprocess
import sys

import gymnasium
import pytest

from mlgym.episode import env_id, register_envs
from mlgym.plugins import discover, get_registry

# what a fresh process finds installed (the process-wide registry may hold test fixtures)
INSTALLED = discover().ids("tasks")


def python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_register_envs_covers_installed_and_registered_tasks(mlgym_fixtures):
    ids = register_envs()
    assert ids == [env_id(t) for t in get_registry().ids("tasks")]
    assert "mlgym/fixture-threshold" in ids and all(i in gymnasium.registry for i in ids)
    assert register_envs() == ids  # idempotent
    spec = gymnasium.spec("mlgym/fixture-threshold")
    assert spec.entry_point == "mlgym.episode.env:MLGymEnv" and spec.kwargs == {"task": "fixture-threshold"}


def test_registration_waits_for_gymnasium_to_be_imported():
    code = ("import sys, json\n"
            "from mlgym.episode.registration import register_when_gymnasium_loads\n"
            "register_when_gymnasium_loads()\n"
            "before = 'gymnasium' in sys.modules\n"
            "import gymnasium\n"
            "print(json.dumps([before, sorted(k for k in gymnasium.registry "
            "if k.startswith('mlgym/'))]))")
    before, ids = json.loads(python(code))
    assert before is False and ids == [env_id(t) for t in INSTALLED]


def test_import_mlgym_registers_every_task():
    code = ("import json, gymnasium, mlgym\n"
            "print(json.dumps(sorted(k for k in gymnasium.registry if k.startswith('mlgym/'))))")
    assert json.loads(python(code)) == [env_id(t) for t in INSTALLED]
    code = "import sys, mlgym\nprint('gymnasium' in sys.modules)"
    assert python(code) == "False"  # importing mlgym alone stays light


def test_a_plugin_imported_after_gymnasium_and_before_mlgym_keeps_its_tasks():
    # the plugin's `from mlgym import hookimpl` is the first import of mlgym: discovery then
    # runs inside the plugin's own import, before its hooks exist
    code = ("import json, gymnasium, mlgym_task_house_price\n"
            "from mlgym.plugins import get_registry\n"
            "registry = get_registry()\n"
            "print(json.dumps(['house-price' in registry.ids('tasks'), "
            "'house-prices-ames-split' in registry.ids('datasets'), "
            "'mlgym/house-price' in gymnasium.registry]))")
    assert json.loads(python(code)) == [True, True, True]


@pytest.mark.skipif(not INSTALLED, reason="no task plugin is installed")
def test_make_with_module_prefix_needs_no_import():
    code = ("import gymnasium\n"
            f"env = gymnasium.make('mlgym:mlgym/{INSTALLED[0]}', backend='local', max_steps=3)\n"
            "print(type(env.unwrapped).__name__, env.unwrapped.max_steps)")
    assert python(code) == "MLGymEnv 3"
