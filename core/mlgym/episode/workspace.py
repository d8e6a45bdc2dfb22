"""The host side of one episode: the agent's files and everything mounted around them.

Layout inside the sandbox (``docs/environment.md`` has the full table)::

    /home/agent/workspace            the agent's files (starter code), writable, owned by the agent
    /home/agent/workspace/data/<id>  each dataset, read-only, not owned by the agent
    /home/agent/workspace/evaluator  the evaluator, read-only, when the task makes it visible
    /mlgym/state                     $MLGYM_STATE_DIR for tool bundles, writable
    /mlgym/tools/<bundle>/bin        each tool bundle's executables, read-only, on PATH
    /mlgym/run/<service>.sock        sockets of the harness-side tool services

The evaluator (a separate process under another identity) sees a snapshot of the submission
files at the workspace's path plus ``/mlgym/evaluator`` (its own folder, the working directory),
``/mlgym/hidden`` (hidden data, never mounted in the agent's sandbox) and ``/mlgym/data/<id>``
(with the datasets' hidden files at ``/mlgym/data/_hidden/<id>``, never in the agent's sandbox).
A player (the agent's code that the evaluator calls) sees the workspace read-only and
``/mlgym/player`` (its folder, the working directory), never the hidden data.

When MLGym runs as root, the workspace and the state folder live on a small ext4 file system
of the task's declared disk size (a sparse image, loop-mounted), so an agent that fills its disk
fills only that; elsewhere they are plain folders under the system's temporary directory.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlgym.episode.datasets import HIDDEN as HIDDEN_DATA
from mlgym.episode.datasets import hidden_folder, system_folders
from mlgym.episode.evaluation import EvaluatorSetup
from mlgym.player import PlayerSetup
from mlgym.sandbox import leftovers
from mlgym.sandbox.base import Limits, Mount, SandboxConfig
from mlgym.specs.tasks import TaskSpec
from mlgym.specs.tools import (
    SANDBOX_RUN_DIR,
    ToolBundle,
    sandbox_bin,
    service_env_var,
    service_socket,
)

log = logging.getLogger(__name__)

WORKSPACE = "/home/agent/workspace"
STATE_DIR = "/mlgym/state"
EVALUATOR_DIR = "/mlgym/evaluator"
HIDDEN_DIR = "/mlgym/hidden"
DATA_DIR = "/mlgym/data"
PLAYER_DIR = "/mlgym/player"
USER_BASE = ".local"  # inside the workspace: where `pip install` puts the agent's packages
LISTING_ENTRIES = 60
LISTING_DEPTH = 3


def disk_quota_available() -> bool:
    """Whether workspaces can get a size-limited file system of their own (root + loop)."""
    return (os.geteuid() == 0 and shutil.which("mkfs.ext4") is not None
            and shutil.which("mount") is not None and os.path.exists("/dev/loop-control"))


class Workspace:
    """Folders, mounts and variables of one episode; :meth:`remove` deletes all of it."""

    def __init__(self, task: TaskSpec, *, datasets: Mapping[str, Path], python: Path | None,
                 bundles: Sequence[ToolBundle] = (), disk_quota: bool | None = None,
                 parent: Path | None = None):
        self.task = task
        self.datasets = dict(datasets)
        self.python = python
        self.bundles = list(bundles)
        self.root = Path(tempfile.mkdtemp(prefix=f"mlgym-{task.id}-", dir=parent))
        os.chmod(self.root, 0o755)
        leftovers.claim(self.root)  # removed by the next sweep if this process dies unclosed
        self.disk = self.root / "disk"
        self.workspace = self.disk / "workspace"
        self.state = self.disk / "state"
        self.run_dir = self.root / "run"
        self.empty = self.root / "empty"
        self.quota_mounted = False
        self._disk_quota = disk_quota_available() if disk_quota is None else disk_quota

    # -- life cycle ---------------------------------------------------------------------------

    def create(self) -> None:
        """Make the folders and copy the starter code in."""
        self.disk.mkdir()
        if self._disk_quota:
            self._mount_quota(self.task.compute.disk_mb)
        for folder in (self.workspace, self.state, self.run_dir, self.empty):
            folder.mkdir(exist_ok=True)
            folder.chmod(0o755)
        if self.task.starter_dir is not None:
            shutil.copytree(self.task.starter_dir, self.workspace, symlinks=True,
                            dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))

    def _mount_quota(self, size_mb: int) -> None:
        image = self.root / "disk.img"
        try:
            with open(image, "wb") as f:
                f.truncate(size_mb * 1024 * 1024)
            subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal",
                            "-E", "lazy_itable_init=1,lazy_journal_init=1", str(image)],
                           check=True, capture_output=True)
            subprocess.run(["mount", "-o", "loop,nosuid,nodev", str(image), str(self.disk)],
                           check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            log.warning("workspace disk limit not applied (%s %s); using a plain folder", exc,
                        detail.decode(errors="replace").strip())
            image.unlink(missing_ok=True)
            return
        self.quota_mounted = True
        shutil.rmtree(self.disk / "lost+found", ignore_errors=True)
        self.disk.chmod(0o755)

    def remove(self) -> None:
        """Delete every file of the episode (unmounting its disk first). Safe to call twice."""
        if self.quota_mounted:
            proc = subprocess.run(["umount", str(self.disk)], capture_output=True)
            if proc.returncode != 0:  # something still holds it: detach now, freed when released
                subprocess.run(["umount", "-l", str(self.disk)], capture_output=True)
            self.quota_mounted = False
        shutil.rmtree(self.root, ignore_errors=True)

    # -- what the sandbox gets ----------------------------------------------------------------

    def _workspace_mounts(self) -> list[Mount]:
        mounts = [Mount(self.datasets[ds], f"{WORKSPACE}/{where.strip('/')}")
                  for ds, where in self.task.datasets]
        if self.task.evaluator_visible and self.task.evaluator_dir is not None:
            mounts.append(Mount(self.task.evaluator_dir, f"{WORKSPACE}/evaluator"))
        return mounts

    def sandbox_config(self, *, limits: Limits, network: bool = False, gpus: int = 0,
                       image: str | None = None, services: Sequence[str] = ()) -> SandboxConfig:
        """The configuration of the agent's sandbox for this episode."""
        mounts = self._workspace_mounts()
        mounts.append(Mount(self.state, STATE_DIR, writable=True))
        if self.task.hidden_dir is not None:
            # an empty folder over the hidden data's own path: a backend that shows the agent
            # the harness's Python (and so the site-packages a task was installed into) must
            # still not show it the labels
            mounts.append(Mount(self.empty, str(self.task.hidden_dir)))
        mounts += self._masks()
        env = {"MLGYM_STATE_DIR": STATE_DIR, "PYTHONUSERBASE": f"{WORKSPACE}/{USER_BASE}",
               "PIP_USER": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
        path = []
        for bundle in self.bundles:
            mounts.append(Mount(bundle.bin_dir, sandbox_bin(bundle.id)))
            path.append(sandbox_bin(bundle.id))
            env.update(bundle.env)
        if services:
            mounts.append(Mount(self.run_dir, SANDBOX_RUN_DIR))
            env.update({service_env_var(s): service_socket(s) for s in services})
        path.append(f"{WORKSPACE}/{USER_BASE}/bin")
        return SandboxConfig(workspace=self.workspace, workspace_target=WORKSPACE, mounts=mounts,
                             env=env, path_prepend=path, network=network, limits=limits,
                             gpus=gpus, image=image, python=self.python)

    def _masks(self) -> list[Mount]:
        """Empty folders over the system folders that hold a dataset's hidden files (an OS
        package's test labels under /usr, which the agent's sandbox shows read-only)."""
        from mlgym.plugins.registry import get_registry

        registry = get_registry()
        folders = {folder for ds, _ in self.task.datasets
                   for folder in system_folders(registry.get("datasets", ds)) if folder.is_dir()}
        return [Mount(self.empty, str(folder)) for folder in sorted(folders)]

    def service_socket_path(self, service_id: str) -> Path:
        """The host path of a service's socket (bound into the sandbox at /mlgym/run)."""
        return self.run_dir / f"{service_id}.sock"

    def evaluator_setup(self) -> EvaluatorSetup:
        """How the evaluator is run: command, folder, mounts and protocol variables."""
        task = self.task
        mounts = [Mount(task.evaluator_dir or self.empty, EVALUATOR_DIR),
                  Mount(task.hidden_dir or self.empty, HIDDEN_DIR)]
        parents = {path.parent for path in self.datasets.values()}
        if len(parents) == 1 and all(p.name == ds for ds, p in self.datasets.items()):
            # the usual case, datasets side by side in the cache: one mount, which also lets
            # the unisolated `local` backend map MLGYM_DATA_DIR onto a host folder
            mounts.append(Mount(parents.pop(), DATA_DIR))
        else:
            mounts += [Mount(p, f"{DATA_DIR}/{ds}") for ds, p in sorted(self.datasets.items())]
            mounts += [Mount(h, f"{DATA_DIR}/{HIDDEN_DATA}/{ds}")
                       for ds, p in sorted(self.datasets.items())
                       if (h := hidden_folder(p)) is not None]
            if not self.datasets:
                mounts.append(Mount(self.empty, DATA_DIR))
        env = {"MLGYM_WORKSPACE": WORKSPACE, "MLGYM_HIDDEN_DIR": HIDDEN_DIR,
               "MLGYM_DATA_DIR": DATA_DIR, "PYTHONNOUSERSITE": "1",
               "PYTHONDONTWRITEBYTECODE": "1"}
        return EvaluatorSetup(argv=list(task.evaluator_command), cwd=EVALUATOR_DIR,
                              mounts=mounts, env=env, timeout=task.evaluator_timeout,
                              submission=task.submission_files,
                              submission_max_bytes=task.submission_max_mb * 1024 * 1024,
                              player=self.player_setup())

    def player_setup(self) -> PlayerSetup | None:
        """How the task's players are started: the agent's code in a sandbox of its own, the
        player's folder at ``/mlgym/player``, the workspace read-only, never the hidden data."""
        spec = self.task.player
        if spec is None:
            return None
        compute = self.task.compute
        limits = Limits(memory_mb=spec.memory_mb or compute.memory_mb,
                        cpus=spec.cpus or compute.cpus, processes=spec.processes)
        mounts = [Mount(spec.path, PLAYER_DIR)]
        if self.task.hidden_dir is not None:  # as in the agent's sandbox: empty at its host path
            mounts.append(Mount(self.empty, str(self.task.hidden_dir)))
        mounts += self._masks()
        env = {"MLGYM_WORKSPACE": WORKSPACE, "PYTHONUSERBASE": f"{WORKSPACE}/{USER_BASE}",
               "PYTHONDONTWRITEBYTECODE": "1"}
        return PlayerSetup(argv=list(spec.command), cwd=PLAYER_DIR, mounts=mounts, env=env,
                           limits=limits, call_timeout=spec.call_timeout,
                           start_timeout=spec.start_timeout, max_starts=spec.max_starts)

    # -- what the agent is told ---------------------------------------------------------------

    def listing(self) -> str:
        """A deterministic listing of the workspace as the agent finds it after reset."""
        readonly = {m.target[len(WORKSPACE) + 1:]: m.source for m in self._workspace_mounts()}
        lines: list[str] = []
        self._list(self.workspace, "", 0, readonly, lines)
        if len(lines) > LISTING_ENTRIES:
            more = len(lines) - LISTING_ENTRIES
            lines = lines[:LISTING_ENTRIES] + [f"  ... and {more} more entries"]
        return "\n".join([f"{WORKSPACE}/"] + lines)

    def prompt(self, splits: Mapping[str, str], *, max_steps: int | None,
               time_limit: float | None, cost_limit: float | None,
               protocol: str = "mlgym") -> str:
        """The first observation: the task, the workspace, and the rules of the episode."""
        task = self.task
        budget = [f"{max_steps} steps"] if max_steps else []
        budget += [f"{time_limit:g} seconds"] if time_limit else []
        budget += [f"${cost_limit:g} of model spend"] if cost_limit else []
        submission = task.submission_description or (
            "the files " + ", ".join(task.submission_files) if task.submission_files else "")
        baseline = ", ".join(
            f"{m.name} = {task.baseline[m.name]:g}" + (" (primary)" if m.primary else "")
            for m in task.metrics if task.baseline.get(m.name) is not None)
        metrics = ", ".join(f"{m.name} ({'higher' if m.higher_is_better else 'lower'} is better"
                            + (", primary)" if m.primary else ")") for m in task.metrics)
        lines = [
            task.description.strip(), "",
            "Your workspace (the shell starts here; folders marked read-only cannot be changed):",
            self.listing(), "",
            "How this episode works:",
            "- Each action is one shell command (bash, possibly several lines). The shell keeps "
            "its state between actions: working directory, variables, activated environments.",
            f"- A command is stopped after {task.command_timeout:g} s. Prefix it with `long ` "
            f"(for example `long python train.py`) to allow up to {task.training_timeout:g} s.",
            f"- `validate` scores the current workspace on the {splits['validate']} split and "
            "shows the scores; the episode goes on.",
            f"- `submit` scores the workspace on the {splits['submit']} split as your final "
            "answer and ends the episode"
            + (" (also when it fails: validate first)." if protocol == "strict" else "."),
            "- `pip install <package>` installs into your workspace (the environment's own "
            "packages are read-only).",
        ]
        if submission:
            lines.append(f"- The evaluator reads: {submission}.")
        lines.append(f"- Metrics: {metrics}.")
        if baseline:
            lines.append(f"- Baseline scores: {baseline}.")
        if budget:
            lines.append(f"- Budget: {', '.join(budget)}. When it runs out, the workspace is "
                         "submitted as it is.")
        return "\n".join(lines)

    def _list(self, folder: Path, rel: str, depth: int, readonly: Mapping[str, Path],
              lines: list[str]) -> None:
        try:
            names = {e for e in os.listdir(folder) if not e.startswith(".")}
        except OSError:
            names = set()
        # mounts appear at their place whether or not the sandbox has made their mount point
        names |= {m[len(rel):].split("/")[0] for m in readonly if m.startswith(rel)}
        for name in sorted(names):
            path_rel = f"{rel}{name}"
            host = Path(readonly.get(path_rel, folder / name))
            indent = "  " * (depth + 1)
            inner_mount = any(m.startswith(path_rel + "/") for m in readonly)
            if host.is_dir() or inner_mount:
                note = "  (read-only)" if path_rel in readonly else ""
                lines.append(f"{indent}{name}/{note}")
                if depth + 1 < LISTING_DEPTH:
                    self._list(host, f"{path_rel}/", depth + 1, readonly, lines)
            else:
                lines.append(f"{indent}{name}  ({_size(host)})")


def _size(path: Path) -> str:
    try:
        size: float = path.stat().st_size
    except OSError:
        return "?"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"
