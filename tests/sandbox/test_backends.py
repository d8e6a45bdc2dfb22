"""What each backend promises beyond the shell: registration, probes, paths, Python, images."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mlgym.plugins import get_registry
from mlgym.sandbox import plugin
from mlgym.sandbox.base import Limits, Mount, Sandbox, SandboxConfig
from mlgym.sandbox.local import UnisolatedSandboxWarning
from mlgym.testing import make_wheel

from .conftest import ALL_BACKENDS, ISOLATING_BACKENDS, require_backend


def test_the_core_registers_three_backends_with_probes():
    registry = get_registry()
    assert {"local", "bwrap", "docker"} <= set(registry.ids("backends"))
    assert registry.get("backends", "local").isolated is False
    for name in ("bwrap", "docker"):
        spec = registry.get("backends", name)
        assert spec.isolated
        reason = spec.probe()
        assert reason is None or (isinstance(reason, str) and reason)


def test_doctor_reports_every_backend():
    out = subprocess.run([sys.executable, "-c", "from mlgym.cli import main; main(['doctor'])"],
                         capture_output=True, text=True, check=True).stdout
    for name in ("local", "bwrap", "docker"):
        assert f"  {name} " in out


def test_default_backend_is_bwrap_where_it_works():
    if get_registry().get("backends", "bwrap").probe() is None:
        assert plugin.default_backend() == "bwrap"
    else:
        with pytest.warns(UnisolatedSandboxWarning, match="falling back to 'local'"):
            assert plugin.default_backend() == "local"


def test_local_warns_loudly_that_it_does_not_isolate(tmp_path):
    spec = get_registry().get("backends", "local")
    sandbox = spec.factory(SandboxConfig(workspace=tmp_path))
    with pytest.warns(UnisolatedSandboxWarning, match="does not isolate"):
        sandbox.start()
    sandbox.close()


def test_local_maps_sandbox_paths_onto_host_folders(make_sandbox, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("1,2\n")
    tools = tmp_path / "tools"
    tools.mkdir()
    tool = tools / "greet"
    tool.write_text("#!/bin/sh\necho hello from tool\n")
    tool.chmod(0o755)
    sandbox = make_sandbox("local", mounts=[Mount(data, "/home/agent/workspace/data"),
                                            Mount(tools, "/mlgym/tools/t/bin")],
                           path_prepend=["/mlgym/tools/t/bin"],
                           env={"MLGYM_DATA": "/home/agent/workspace/data"})
    result = sandbox.run("cat data/train.csv; greet; cat $MLGYM_DATA/train.csv", 10)
    assert result.output == "1,2\nhello from tool\n1,2\n"
    assert sandbox.path_for("/mlgym/tools/t/bin/greet") == str(tool)
    workspace = Path(sandbox.config.workspace)
    sandbox.close()
    assert not (workspace / "data").exists()  # the link it made is gone, the data is not
    assert (data / "train.csv").exists()


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_mounts_path_and_env_are_visible_to_the_agent(make_sandbox, tmp_path, backend):
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "greet").write_text("#!/bin/sh\necho hello $WHO\n")
    (tools / "greet").chmod(0o755)
    sandbox = make_sandbox(backend, mounts=[Mount(tools, "/mlgym/tools/t/bin")],
                           path_prepend=["/mlgym/tools/t/bin"], env={"WHO": "agent"})
    assert sandbox.run("greet", 20).output == "hello agent\n"


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_run_isolated_separates_stdout_stderr_and_sees_the_workspace(make_sandbox, backend):
    sandbox: Sandbox = make_sandbox(backend)
    sandbox.run("echo submitted > answer.txt", 20)
    ws = sandbox.config.workspace_target
    result = sandbox.run_isolated(["sh", "-c", "cat $MLGYM_WORKSPACE/answer.txt; echo $MLGYM_SPLIT;"
                                   " echo oops >&2; exit 3"], cwd=ws, mounts=[],
                                  env={"MLGYM_SPLIT": "dev", "MLGYM_WORKSPACE": ws}, timeout=60)
    assert result.output == "submitted\ndev\n"
    assert result.stderr == "oops\n"
    assert result.exit_code == 3 and not result.timed_out


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_run_isolated_timeout_kills_the_evaluator(make_sandbox, backend):
    sandbox = make_sandbox(backend)
    result = sandbox.run_isolated(["sh", "-c", "echo begun; sleep 300"], cwd="/", mounts=[],
                                  env={}, timeout=2)
    assert result.timed_out and result.exit_code is None


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_a_sandbox_outlives_the_thread_that_started_it(make_sandbox, backend):
    require_backend(backend)  # here: a skip raised in the thread would be lost
    box = {}
    thread = threading.Thread(target=lambda: box.update(sandbox=make_sandbox(backend)))
    thread.start()
    thread.join()
    box["sandbox"].run("MARK=kept", 20)
    time.sleep(0.2)
    result = box["sandbox"].run("echo $MARK", 20)
    assert result.output == "kept\n" and not result.restarted


@pytest.mark.parametrize("backend", ISOLATING_BACKENDS)
def test_the_agent_runs_as_its_own_non_root_user(make_sandbox, backend):
    sandbox = make_sandbox(backend)
    out = sandbox.run("id -u; whoami; echo $HOME; touch ~/.cache-test && echo home-ok", 20)
    assert out.output.splitlines() == [str(sandbox.agent_uid), "mlgym-agent", "/home/agent",
                                       "home-ok"]
    assert sandbox.agent_uid != sandbox.evaluator_uid


@pytest.mark.bwrap
def test_bwrap_exposes_the_configured_python_environment(make_sandbox, tmp_path):
    require_backend("bwrap")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    sandbox = make_sandbox("bwrap", python=venv)
    out = sandbox.run("command -v python; python -c 'import sys; print(sys.prefix)'; "
                      "echo $VIRTUAL_ENV", 30)
    assert out.output.splitlines() == [f"{venv}/bin/python", str(venv), str(venv)]


@pytest.mark.bwrap
def test_bwrap_limits_memory_through_its_cgroup(make_sandbox):
    require_backend("bwrap")
    from mlgym.sandbox import cgroups

    if cgroups.unavailable_reason() is not None:
        pytest.skip(cgroups.unavailable_reason())
    sandbox = make_sandbox("bwrap", limits=Limits(memory_mb=128))
    result = sandbox.run("python3 -c 'x = bytearray(400 << 20); x[::4096] = b\"1\" * len("
                         "x[::4096]); print(\"survived\")'", 60)
    assert "survived" not in result.output
    assert result.exit_code == 137


@pytest.mark.docker
@pytest.mark.slow
def test_docker_task_image_has_the_requirements_installed(make_sandbox):
    require_backend("docker")
    from mlgym.sandbox import images

    tag = images.ensure_task_image(["six==1.16.0"])
    assert tag == images.ensure_task_image(["six==1.16.0"])  # built once, found again
    sandbox = make_sandbox("docker", image=tag)
    out = sandbox.run("python -c 'import six; print(six.__version__)'; echo $VIRTUAL_ENV", 60)
    assert out.output == "1.16.0\n/opt/venv\n"


@pytest.mark.docker
@pytest.mark.slow
def test_docker_default_image_has_python_pip_and_a_user_site(make_sandbox, tmp_path):
    require_backend("docker")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    wheel = make_wheel(workspace)
    user_base = "/home/agent/workspace/.local"
    sandbox = make_sandbox("docker", workspace=workspace, env={"PYTHONUSERBASE": user_base})
    out = sandbox.run("command -v python pip", 30)
    assert out.output == "/opt/venv/bin/python\n/opt/venv/bin/pip\n"
    # /opt/venv is read-only: pip falls back to a user install, which python then imports
    out = sandbox.run(f"pip install --no-index --disable-pip-version-check {wheel.name}", 120)
    assert "Successfully installed tinypkg-0.1" in out.output, out.output
    out = sandbox.run("python -c 'import tinypkg; print(tinypkg.VALUE, tinypkg.__file__)'", 30)
    assert out.output == f"42 {user_base}/lib/python3.11/site-packages/tinypkg/__init__.py\n"
    assert (workspace / ".local/lib/python3.11/site-packages/tinypkg/__init__.py").exists()
