"""The ``local`` backend: the agent's shell runs on the host as you, with no isolation at all.

For developing tasks and agents on a machine without bubblewrap or Docker. The agent can read,
change and delete anything you can, reach the network and see your processes; starting one
emits an :class:`UnisolatedSandboxWarning`. Limits other than the per-command timeout are not
enforced.

There are no mounts either: a path inside the "sandbox" is mapped onto the host folder it stands
for (:meth:`LocalSandbox.path_for`). ``PATH`` entries and environment values are mapped the same
way (and the arguments of :meth:`LocalSandbox.run_isolated`); a mount whose target lies inside
the workspace appears there as a symbolic link.
"""

from __future__ import annotations

import os
import signal
import subprocess
import warnings
from collections.abc import Sequence
from pathlib import Path

from mlgym.sandbox import procs
from mlgym.sandbox.base import CommandResult, Limits, Mount, PlayerProcess, Sandbox, SandboxConfig
from mlgym.sandbox.common import SYSTEM_PATH, HostPlayer, python_layout, run_process
from mlgym.sandbox.shell import BASH_ARGV, PipeShellProcess, Shell


class UnisolatedSandboxWarning(UserWarning):
    """A sandbox was started without any isolation."""


class LocalShellProcess(PipeShellProcess):
    """bash as a direct child in its own session; its processes are that session and the
    shell's descendants (a process that leaves both cannot be found again)."""

    def family(self) -> list[procs.Proc]:
        table = procs.table()
        found = {p.pid: p for p in table if p.sid == self.shell_pid}
        found.update({p.pid: p for p in procs.descendants(self.shell_pid, table)})
        found.pop(self.shell_pid, None)
        return list(found.values())

    def command_pids(self, since: int) -> list[int]:
        return [p.pid for p in self.family() if p.start >= since]

    def kill(self) -> None:
        if self.popen.poll() is None or self.family():
            for _ in range(3):  # repeat: a process may fork while we kill
                procs.send([p.pid for p in self.family()], signal.SIGKILL)
            procs.send([self.shell_pid], signal.SIGKILL)
        self.popen.wait()
        self.close_pipes()


class LocalSandbox(Sandbox):
    """A shell on the host, as the current user, in the workspace folder."""

    name = "local"
    isolated = False

    def __init__(self, config: SandboxConfig):
        self.config = config
        self._shell: Shell | None = None
        self._links: list[Path] = []

    # -- paths --------------------------------------------------------------------------------

    def _mapping(self, extra: Sequence[Mount] = ()) -> list[tuple[str, str]]:
        pairs = [(m.target.rstrip("/"), str(Path(m.source).absolute()))
                 for m in [*self.config.mounts, *extra]]
        pairs.append((self.config.workspace_target.rstrip("/"),
                      str(Path(self.config.workspace).absolute())))
        return sorted(pairs, key=lambda p: len(p[0]), reverse=True)  # longest target first

    def path_for(self, target: str, extra: Sequence[Mount] = ()) -> str:
        for inside, host in self._mapping(extra):
            if target == inside or target.startswith(inside + "/"):
                return host + target[len(inside):]
        return target

    def _env(self, env: dict[str, str], extra: Sequence[Mount] = ()) -> dict[str, str]:
        layout = python_layout(self.config)
        path = [self.path_for(p, extra) for p in self.config.path_prepend] + layout.bin_dirs
        out = {"PATH": ":".join(path + [os.environ.get("PATH", SYSTEM_PATH)]),
               "HOME": os.environ.get("HOME", str(self.config.workspace)),
               "LANG": "C.UTF-8", "TERM": "dumb", **layout.env}
        for key, value in env.items():
            out[key] = self.path_for(value, extra) if value.startswith("/") else value
        return out

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        warnings.warn("the 'local' sandbox backend does not isolate the agent: its commands run "
                      "on this machine as you, with your files and network. Use 'bwrap' or "
                      "'docker' for anything but development.", UnisolatedSandboxWarning,
                      stacklevel=2)
        workspace = Path(self.config.workspace)
        workspace.mkdir(parents=True, exist_ok=True)
        self._link_mounts_inside_workspace(workspace)
        self._shell = Shell(self._launch)
        self._shell.start()

    def _link_mounts_inside_workspace(self, workspace: Path) -> None:
        root = self.config.workspace_target.rstrip("/") + "/"
        for m in self.config.mounts:
            if m.target.startswith(root):
                link = workspace / m.target[len(root):]
                if not link.exists() and not link.is_symlink():
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(Path(m.source).absolute())
                    self._links.append(link)

    def _launch(self) -> LocalShellProcess:
        popen = subprocess.Popen(BASH_ARGV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, cwd=self.config.workspace,
                                 env=self._env(self.config.env), start_new_session=True)
        return LocalShellProcess(popen)

    def run(self, command: str, timeout: float) -> CommandResult:
        if self._shell is None:
            self.start()
        return self._shell.run(command, timeout)

    def run_isolated(self, argv: list[str], *, cwd: str, mounts: list[Mount],
                     env: dict[str, str], timeout: float,
                     workspace: Path | None = None) -> CommandResult:
        """Run ``argv`` as a fresh process. Not isolated: same user, workspace writable.
        Arguments, ``cwd`` and environment values that are sandbox paths are mapped."""
        if workspace is not None:  # listed first: it wins over the live workspace's mapping
            mounts = [Mount(workspace, self.config.workspace_target), *mounts]
        argv = [self.path_for(a, mounts) if a.startswith("/") else a for a in argv]
        return run_process(argv, env=self._env(env, mounts), cwd=self.path_for(cwd, mounts),
                           timeout=timeout)

    def start_player(self, argv: list[str], *, cwd: str, mounts: list[Mount],
                     env: dict[str, str], limits: Limits,
                     workspace: Path | None = None) -> PlayerProcess:
        """Start ``argv`` as a plain process. Not isolated: same user, no limits, and it can
        see and change the evaluator; for developing a task only."""
        if workspace is not None:
            mounts = [Mount(workspace, self.config.workspace_target), *mounts]
        argv = [self.path_for(a, mounts) if a.startswith("/") else a for a in argv]
        return HostPlayer(argv, env=self._env(env, mounts), cwd=self.path_for(cwd, mounts))

    def host_pids(self) -> list[int]:
        proc = self._shell.process if self._shell is not None else None
        if not isinstance(proc, LocalShellProcess):
            return []
        return [proc.shell_pid] + [p.pid for p in proc.family()]

    def close(self) -> None:
        if self._shell is not None:
            self._shell.close()
            self._shell = None
        for link in self._links:
            if link.is_symlink():
                link.unlink()
        self._links = []
