"""Aids for tests and task authors: a scripted model in place of an LLM, a task's evaluator run
by hand, a sandbox backend required or skipped, and a hand-made wheel.

**The scripted model** (:class:`ScriptedModel`, from :mod:`mlgym.agents.scripted`) gives
pre-written replies instead of an LLM; ``--model scripted:replies.yaml`` does the same on the
command line.

**The evaluator run** (:func:`run_evaluator`) is for a task package's own tests: it runs the
task's evaluator once as a plain subprocess, with the variables of the evaluator protocol
(``docs/CONTRACTS.md``) set, and reads its scores as an episode would::

    run = run_evaluator("prisoners-dilemma")                    # the starter code, split test
    assert run.score() == pytest.approx(task.baseline["score"])
    run = run_evaluator(task, {"strategy.py": "def row_strategy(history):\\n    return 2\\n"})
    assert "returned 2" in run.failure()

:func:`evaluator_module` imports one module of the evaluator folder into the test's process, so
its parts (a payoff, an opponent) can be unit-tested directly. :func:`assert_passes_check_env`
runs Gymnasium's checker on an environment (an installed task's with :func:`check_task_env`).

Production code never imports this module.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from mlgym.agents.scripted import ScriptedModel
from mlgym.episode.evaluation import EvaluatorOutputError, parse_scores
from mlgym.errors import ConfigError
from mlgym.plugins.registry import get_registry
from mlgym.specs.tasks import TaskSpec, load_task

__all__ = ["EvaluatorRun", "ScriptedModel", "evaluator_module", "make_wheel", "require_backend",
           "run_evaluator"]


# -- a task's evaluator, run as a package's tests run it ------------------------------------------

_PYTHON_NAMES = ("python", "python3")  # in an evaluator command: the interpreter running the tests


@dataclass(frozen=True)
class EvaluatorRun:
    """One run of a task's evaluator: its exit code and output, and the scores MLGym reads."""

    scores: dict[str, float] | None  # the declared metrics; None when the evaluation failed
    returncode: int
    stdout: str
    stderr: str
    error: str | None = None  # why the evaluation failed, as an episode would record it
    primary: str = field(default="", repr=False)  # the task's primary metric

    @property
    def ok(self) -> bool:
        """Whether the evaluation succeeded: exit code 0 and a last line of valid metrics."""
        return self.error is None

    def score(self, metric: str | None = None) -> float:
        """The value of ``metric`` (default: the primary one).

        Raises AssertionError, quoting the evaluator's error output, when the evaluation failed.
        """
        if self.scores is None:
            raise AssertionError(f"{self.error}; its stderr ends:\n{_tail(self.stderr)}")
        return self.scores[metric or self.primary]

    def failure(self) -> str:
        """The last line the failed evaluator wrote to stderr: what the agent reads last.

        Raises AssertionError when the evaluation succeeded.
        """
        if self.ok:
            raise AssertionError(f"the evaluation succeeded with scores {self.scores}")
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def run_evaluator(task: str | TaskSpec | Path,
                  workspace: Path | Mapping[str, str | bytes] | None = None, *,
                  split: str = "test", seed: int | None = None, hidden: bool | Path = True,
                  data_dir: Path | None = None) -> EvaluatorRun:
    """Run ``task``'s evaluator once, the way an episode does but without a sandbox.

    ``task`` is a task id (looked up among the installed plugins), a :class:`TaskSpec`, or the
    path of a ``task.yaml`` (or of the folder holding it). The evaluator runs as a subprocess of
    this interpreter's environment in its own folder, ``python`` in its command meaning this
    interpreter, with the protocol's variables set:

    - ``MLGYM_WORKSPACE``: ``workspace`` -- a folder, a mapping of file names to contents for a
      fresh temporary workspace holding exactly those files, or None for the task's starter code;
    - ``MLGYM_SPLIT`` and ``MLGYM_SEED``: ``split`` and ``seed`` (default: the task's seed);
    - ``MLGYM_HIDDEN_DIR``: the task's hidden data (``hidden=True``; an empty folder if it has
      none), another folder, or unset (``hidden=False``, as when someone runs it by hand);
    - ``MLGYM_DATA_DIR``: ``data_dir``, by default the folder of the task's datasets
      (materialised as an episode would) or an empty one.

    A task with a ``player`` gets its players as plain subprocesses of the evaluator (the
    referee's half of the protocol starts them when ``MLGYM_PLAYER_SOCKET`` is unset): no
    isolation, which is what a task's own tests of its rules need; episodes isolate them.

    The scores are read as an episode reads them (:func:`mlgym.episode.parse_scores`). An
    evaluator that outlives the task's ``evaluator.timeout`` raises
    :class:`subprocess.TimeoutExpired`.
    """
    spec = _task_spec(task)
    if spec.evaluator_dir is None:
        raise ConfigError(f"task {spec.id!r} declares no evaluator.path; nothing to run")
    with tempfile.TemporaryDirectory(prefix="mlgym-evaluator-run-") as tmp:
        scratch = Path(tmp)
        env = {**os.environ, "MLGYM_SPLIT": split,
               "MLGYM_SEED": str(spec.seed if seed is None else seed),
               "MLGYM_WORKSPACE": str(_workspace(spec, workspace, scratch / "workspace")),
               "MLGYM_DATA_DIR": str(data_dir or _data_dir(spec, scratch / "data"))}
        env.pop("MLGYM_HIDDEN_DIR", None)
        if hidden is True:
            env["MLGYM_HIDDEN_DIR"] = str(spec.hidden_dir or _empty(scratch / "hidden"))
        elif hidden is not False:
            env["MLGYM_HIDDEN_DIR"] = str(hidden)
        command = [sys.executable if part in _PYTHON_NAMES else part
                   for part in spec.evaluator_command]
        done = subprocess.run(command, cwd=spec.evaluator_dir, env=env, capture_output=True,
                              text=True, timeout=spec.evaluator_timeout)
    scores, error = None, None
    if done.returncode != 0:
        error = f"the evaluator failed with exit code {done.returncode}"
    else:
        try:
            scores = parse_scores(done.stdout, spec)
        except EvaluatorOutputError as exc:
            error = str(exc)
    return EvaluatorRun(scores, done.returncode, done.stdout, done.stderr, error,
                        spec.primary_metric.name)


def evaluator_module(task: str | TaskSpec | Path, name: str) -> ModuleType:
    """The evaluator's module ``name`` (``<evaluator folder>/<name>.py``), imported here.

    For unit tests of an evaluator's parts (a payoff, an opponent) without a subprocess. The
    module's own imports of its neighbours resolve in the evaluator folder, as they do when the
    evaluator runs; afterwards neither it nor they stay in ``sys.modules``, so evaluators of
    different tasks with modules of the same name do not meet.
    """
    spec = _task_spec(task)
    folder = spec.evaluator_dir
    if folder is None or not (folder / f"{name}.py").is_file():
        raise ConfigError(f"task {spec.id!r}: no {name}.py in its evaluator folder ({folder})")
    qualified = f"mlgym_evaluator_{spec.id}_{name}".replace("-", "_")
    found = importlib.util.spec_from_file_location(qualified, folder / f"{name}.py")
    module = importlib.util.module_from_spec(found)
    neighbours = {p.stem for p in folder.glob("*.py")}
    shadowed = {key: sys.modules.pop(key) for key in list(sys.modules) if key in neighbours}
    before, saved_path = set(sys.modules), list(sys.path)
    sys.modules[qualified] = module  # while it runs, as a regular import has it
    sys.path.insert(0, str(folder))
    try:
        found.loader.exec_module(module)
    finally:
        sys.path[:] = saved_path
        for key in set(sys.modules) - before:  # the neighbours it imported, and itself
            origin = getattr(sys.modules[key], "__file__", None) or ""
            if key == qualified or Path(origin).parent == folder:
                del sys.modules[key]
        sys.modules.update(shadowed)
    return module


def _task_spec(task: str | TaskSpec | Path) -> TaskSpec:
    if isinstance(task, TaskSpec):
        return task
    if isinstance(task, str):
        from mlgym.plugins.registry import get_registry

        return get_registry().task(task)
    path = Path(task)
    if path.is_dir():
        path = path / "task.yaml"
    if not path.is_file():
        raise ConfigError(f"{task}: no task.yaml there; pass a task id, a TaskSpec, or the path "
                          "of a task.yaml (or of the folder holding it)")
    return load_task(path)


def _workspace(spec: TaskSpec, workspace: Path | Mapping[str, str | bytes] | None,
               fresh: Path) -> Path:
    if workspace is None:
        if spec.starter_dir is None:
            raise ConfigError(f"task {spec.id!r} has no starter_code; pass a workspace")
        return spec.starter_dir
    if not isinstance(workspace, Mapping):
        return Path(workspace)
    fresh.mkdir()
    for name, content in workspace.items():
        target = fresh / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return fresh


def _data_dir(spec: TaskSpec, fresh: Path) -> Path:
    if not spec.datasets:
        return _empty(fresh)
    from mlgym.episode.datasets import HIDDEN, hidden_folder, materialise
    from mlgym.plugins.registry import get_registry

    registry = get_registry()
    folders = {ds: materialise(registry.get("datasets", ds)) for ds, _ in spec.datasets}
    parents = {folder.parent for folder in folders.values()}
    if len(parents) == 1 and all(folder.name == ds for ds, folder in folders.items()):
        return parents.pop()  # the usual case: side by side in the cache, named by id
    fresh.mkdir()
    for ds, folder in folders.items():
        (fresh / ds).symlink_to(folder, target_is_directory=True)
        if (hidden := hidden_folder(folder)) is not None:
            (fresh / HIDDEN).mkdir(exist_ok=True)
            (fresh / HIDDEN / ds).symlink_to(hidden, target_is_directory=True)
    return fresh


def _empty(folder: Path) -> Path:
    folder.mkdir()
    return folder


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def assert_passes_check_env(env) -> None:
    """Gymnasium's checker on ``env``: it raises on some breaches of the API and only warns about
    others, and both fail here. Only the warning that no render fps is declared is expected
    (MLGym does not render)."""
    import warnings

    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    found = [str(w.message) for w in caught
             if "gymnasium" in w.filename and "render fps" not in str(w.message)]
    assert found == [], found


def check_task_env(task_id: str) -> None:
    """:func:`assert_passes_check_env` on ``gymnasium.make("mlgym/<task_id>")``, closed after."""
    import gymnasium

    from mlgym.episode import register_envs

    register_envs([task_id])
    env = gymnasium.make(f"mlgym/{task_id}")
    try:
        assert_passes_check_env(env.unwrapped)
    finally:
        env.close()


@functools.cache
def _backend_problem(name: str) -> str | None:
    return get_registry().get("backends", name).probe()


def require_backend(name: str) -> str:
    """For tests: return ``name`` if sandbox backend ``name`` works here; otherwise skip the
    calling test, or fail it when ``MLGYM_REQUIRE_BACKENDS`` (comma-separated, set by CI) lists
    the backend, so a CI machine that lost its Docker engine cannot pass by skipping."""
    import pytest

    reason = _backend_problem(name)
    if reason is not None:
        required = {b.strip() for b in os.environ.get("MLGYM_REQUIRE_BACKENDS", "").split(",")}
        message = f"sandbox backend {name!r} is unavailable here: {reason}"
        if name in required:
            pytest.fail(f"{message} (MLGYM_REQUIRE_BACKENDS lists it)")
        pytest.skip(message)
    return name


def make_wheel(folder: Path, name: str = "tinypkg", version: str = "0.1",
               body: str = "VALUE = 42\n") -> Path:
    """For tests: a minimal pure-Python wheel written by hand into ``folder`` (no build tools, no
    network), importable as ``name`` with ``body`` as its ``__init__.py``."""
    info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": body,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: mlgym-tests\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join(record + [f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    os.chmod(wheel, 0o644)
    return wheel
