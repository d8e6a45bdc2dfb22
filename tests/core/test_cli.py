"""Every core CLI command, run as a subprocess as a user would."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def mlgym(*args: str, python: str = sys.executable, cwd: Path | None = None, check: bool = True,
          env: dict[str, str] | None = None):
    result = subprocess.run([python, "-m", "mlgym", *args], capture_output=True, text=True, cwd=cwd,
                            timeout=300, env=None if env is None else {**os.environ, **env})
    if check and result.returncode != 0:
        raise AssertionError(f"mlgym {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def test_help_on_every_command():
    top = mlgym("--help").stdout
    commands = ["list", "info", "validate", "schema", "doctor", "new"]
    for command in commands:
        assert command in top
        out = mlgym(command, "--help").stdout
        assert "usage: mlgym " + command in out


def test_schema_prints_valid_json_schema():
    import jsonschema

    for name in ["task", "dataset", "agent", "tools", "run"]:
        schema = json.loads(mlgym("schema", name).stdout)
        jsonschema.Draft202012Validator.check_schema(schema)
    bad = mlgym("schema", "taks", check=False)
    assert bad.returncode == 1 and "Did you mean 'task'" in bad.stderr


def test_list_every_kind_and_doctor():
    for kind in ["tasks", "datasets", "agents", "tools", "metrics", "backends"]:
        mlgym("list", kind)
    backends = mlgym("list", "backends").stdout
    assert "local" in backends and "mlgym-core" in backends and "NO ISOLATION" in backends
    report = json.loads(mlgym("doctor", "--json").stdout)
    assert "local" in report["backends"] and report["backends"]["local"] == "ok"
    assert "sandbox backends" in mlgym("doctor").stdout


def test_doctor_lists_and_cleans_what_dead_processes_left(tmp_path):
    from mlgym.sandbox import leftovers

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale, live, unclaimed = (tmp_path / name for name in ("mlgym-stale", "mlgym-live", "mlgym-x"))
    for folder in (stale, live, unclaimed):
        (folder / "inner").mkdir(parents=True)
    (stale / leftovers.OWNER_FILE).write_text(f"{dead} 1\n")
    leftovers.claim(live)  # this test's process: alive
    env = {"TMPDIR": str(tmp_path)}
    report = json.loads(mlgym("doctor", "--json", env=env).stdout)
    assert report["leftovers"] == {"stale": [str(stale)], "removed": []}
    listed = mlgym("doctor", env=env).stdout
    assert f"  {stale}" in listed and "mlgym doctor --clean" in listed and stale.exists()
    cleaned = mlgym("doctor", "--clean", env=env).stdout
    assert f"removed {stale}" in cleaned and not stale.exists()
    assert live.exists() and unclaimed.exists()
    assert "nothing left behind" in mlgym("doctor", env=env).stdout


def test_info_unknown_task_suggests(tmp_path):
    result = mlgym("info", "no-such-task-xyz", check=False)
    assert result.returncode == 1 and "unknown task 'no-such-task-xyz'" in result.stderr


def test_validate_reports_all_errors_with_exit_code(tmp_path):
    mlgym("new", "task", "checked", "--dir", str(tmp_path))
    package = tmp_path / "mlgym-task-checked"
    assert "1 file(s) valid" in mlgym("validate", str(package)).stdout
    task_yaml = next(package.rglob("task.yaml"))
    text = task_yaml.read_text().replace("direction: minimize", "direction: down")
    task_yaml.write_text(text.replace("name: Checked", "titel: Checked"))
    result = mlgym("validate", str(package), check=False)
    assert result.returncode == 1
    assert f"{task_yaml}:" in result.stderr
    assert "metrics[0].direction: expected one of 'maximize', 'minimize'" in result.stderr
    assert "unknown key 'titel'" in result.stderr
    assert f"{task_yaml}:2:1: missing required key 'name'" in result.stderr  # titel is not name
    assert "3 problem(s) in 1 file(s)" in result.stderr
    assert mlgym("validate", str(tmp_path / "missing.yaml"), check=False).returncode == 1


def test_new_refuses_bad_id(tmp_path):
    result = mlgym("new", "task", "Bad Id", "--dir", str(tmp_path), check=False)
    assert result.returncode == 1 and "lower-case" in result.stderr


@pytest.fixture(scope="module")
def isolated_python(tmp_path_factory) -> str:
    """A virtual environment that sees the installed packages but installs into its own folder,
    so installing and uninstalling throwaway plugins does not touch the main environment."""
    folder = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(folder)
    python = folder / "bin" / "python"
    # "system" packages are those of the base interpreter; when the tests run in a virtual
    # environment themselves, its packages (editable installs included) must be seen as well
    own = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    parents = "; ".join(f"site.addsitedir({d!r})" for d in site.getsitepackages())
    (Path(own) / "_mlgym_tests_parent.pth").write_text(f"import site; {parents}\n")
    return str(python)


def pip(python: str, *args: str) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([python, "-m", "pip", "-q", *args], check=True, env=env, timeout=300)


def test_scaffolded_task_installs_lists_validates_and_uninstalls(tmp_path, isolated_python):
    mlgym("new", "task", "throwaway-task", "--dir", str(tmp_path))
    package = tmp_path / "mlgym-task-throwaway-task"
    # built into a wheel, as a real distribution would be, with the build backend it declares
    pip(isolated_python, "wheel", "--no-deps", "-w", str(tmp_path / "wheels"), str(package))
    wheel = next((tmp_path / "wheels").glob("*.whl"))
    pip(isolated_python, "install", "--no-deps", str(wheel))
    listed = mlgym("list", "tasks", python=isolated_python).stdout
    assert "throwaway-task" in listed and "mlgym-task-throwaway-task" in listed
    installed = Path(mlgym("info", "throwaway-task", "--json", python=isolated_python).stdout
                     .split('"source": "')[1].split('"')[0])
    assert "1 file(s) valid" in mlgym("validate", str(installed.parent), python=isolated_python).stdout
    info = mlgym("info", "throwaway-task", python=isolated_python).stdout
    assert "error" in info and "minimize" in info
    pip(isolated_python, "uninstall", "-y", "mlgym-task-throwaway-task")
    assert "throwaway-task" not in mlgym("list", "tasks", python=isolated_python).stdout
    # the main environment never saw it
    assert "throwaway-task" not in mlgym("list", "tasks").stdout


SCORE_SCAFFOLDED = """\
import json, sys
from mlgym.testing import run_evaluator
runs = {"starter": run_evaluator("player-task"),
        "exact": run_evaluator("player-task", {"solution.py": "def predict(x):\\n    return 3 * x + 1\\n"}),
        "raises": run_evaluator("player-task", {"solution.py": "def predict(x):\\n    return {}[x]\\n"}),
        "float": run_evaluator("player-task", {"solution.py": "def predict(x):\\n    return 0.5\\n"})}
print(json.dumps({name: [run.scores, run.stdout.strip()] for name, run in runs.items()}))
"""

EPISODE_ON_SCAFFOLDED = """\
import json, sys
from mlgym.episode import MLGymEnv
env = MLGymEnv("player-task", backend=sys.argv[1])
try:
    env.reset(seed=0)
    env.step("printf 'def predict(x):\\n    return 3 * x + 1\\n' > solution.py")
    info = env.step("validate")[4]
    print(json.dumps(info["scores"]))
finally:
    env.close()
"""


def test_scaffolded_player_task_validates_and_scores_through_its_referee(tmp_path,
                                                                         isolated_python):
    from mlgym.player import library_files

    mlgym("new", "task", "player-task", "--player", "--dir", str(tmp_path))
    package = tmp_path / "mlgym-task-player-task"
    assert "1 file(s) valid" in mlgym("validate", str(package)).stdout
    evaluator = next(package.rglob("evaluator"))
    for name, source in library_files().items():
        assert (evaluator / name).read_text() == source.read_text()
    pip(isolated_python, "install", "--no-deps", str(package))
    try:
        info = json.loads(mlgym("info", "player-task", "--json", python=isolated_python).stdout)
        baseline = info["baseline"]["error"]
        done = subprocess.run([isolated_python, "-c", SCORE_SCAFFOLDED], capture_output=True,
                              text=True, timeout=300, check=True)
        runs = json.loads(done.stdout)
        assert runs["starter"][0] == {"error": baseline} and baseline > 0
        assert runs["exact"][0] == {"error": 0.0}
        assert runs["raises"] == [None, '{"failed": {"call": "predict", "kind": "raised", '
                                        '"type": "KeyError"}}']
        assert runs["float"] == [None, '{"failed": {"call": "predict", "kind": "invalid", '
                                       '"type": ""}}']
        from mlgym.sandbox import bwrap

        if bwrap.probe() is None:  # and in an episode, the player sandboxed
            done = subprocess.run([isolated_python, "-c", EPISODE_ON_SCAFFOLDED, "bwrap"],
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout.strip().splitlines()[-1]) == {"error": 0.0}
    finally:
        pip(isolated_python, "uninstall", "-y", "mlgym-task-player-task")


BROKEN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"
[project]
name = "mlgym-task-broken"
version = "0.0.1"
[project.entry-points.mlgym]
broken = "mlgym_task_broken"
"""


def test_broken_plugin_is_reported_and_isolated(tmp_path, isolated_python):
    package = tmp_path / "broken"
    (package / "mlgym_task_broken").mkdir(parents=True)
    (package / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (package / "mlgym_task_broken" / "__init__.py").write_text("import no_such_module_anywhere\n")
    mlgym("new", "task", "still-fine", "--dir", str(tmp_path))
    pip(isolated_python, "install", "--no-deps", str(package), str(tmp_path / "mlgym-task-still-fine"))
    try:
        listed = mlgym("list", "tasks", python=isolated_python)
        assert "still-fine" in listed.stdout
        assert "broken (mlgym-task-broken) failed" in listed.stderr
        assert "no_such_module_anywhere" in listed.stderr
        doctor = mlgym("doctor", python=isolated_python).stdout
        assert "plugins that failed to load" in doctor and "mlgym-task-broken" in doctor
        assert mlgym("validate", python=isolated_python, check=False).returncode == 1
    finally:
        pip(isolated_python, "uninstall", "-y", "mlgym-task-broken", "mlgym-task-still-fine")
