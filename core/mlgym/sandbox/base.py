"""The one interface every sandbox backend implements.

A :class:`Sandbox` is an isolated place with a persistent bash session (the agent's shell), a
way to run one-shot processes under another identity (the evaluator), and a way to start the
agent's code as a *player* that an evaluator calls (:meth:`Sandbox.start_player`). Backends differ only in how
bash is started and how files get in and out; the shell protocol itself lives in
:mod:`mlgym.sandbox.shell`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    """Resource limits, enforced (not advisory). ``None`` means the backend's default."""

    memory_mb: int | None = 4096
    cpus: float | None = None
    processes: int | None = 512
    file_size_mb: int | None = 10240
    cpu_seconds: int | None = None
    disk_mb: int | None = None

    def tmpfs_mb(self) -> int | None:
        """Size of the memory-backed folders the agent writes to (home, ``/tmp``, ``/dev/shm``):
        the disk budget, at most half the memory budget (tmpfs files are memory, and programs
        must keep room to run); ``None`` where neither is set (the kernel's default, half of
        RAM)."""
        sizes = [size for size in (self.disk_mb, self.memory_mb and self.memory_mb // 2) if size]
        return min(sizes) if sizes else None


@dataclass(frozen=True)
class Mount:
    """A host path made visible inside the sandbox at ``target``.

    ``writable`` mounts are owned by the agent uid; read-only ones are not.
    """

    source: Path
    target: str
    writable: bool = False


@dataclass
class SandboxConfig:
    """What a backend needs to start a sandbox for one episode."""

    workspace: Path  # host folder, writable by the agent, mounted at ``workspace_target``
    workspace_target: str = "/home/agent/workspace"
    mounts: list[Mount] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    path_prepend: list[str] = field(default_factory=list)  # PATH entries (inside the sandbox)
    network: bool = False
    limits: Limits = field(default_factory=Limits)
    gpus: int = 0
    image: str | None = None  # container backends
    python: Path | None = None  # host path of a Python environment to expose to the agent


@dataclass
class CommandResult:
    """The outcome of one command in the agent's shell or of a one-shot process."""

    output: str  # decoded (invalid bytes replaced), carriage-return progress collapsed
    exit_code: int | None  # None when the command was killed
    duration: float
    timed_out: bool = False
    restarted: bool = False  # the shell had died and was restarted before/after this command
    truncated_bytes: int = 0  # bytes dropped by the capture limit
    stderr: str = ""  # run_isolated only: its stderr (``output`` is then stdout alone)


class PlayerProcess(ABC):
    """A player started by :meth:`Sandbox.start_player`: kill it when its referee is done."""

    @abstractmethod
    def alive(self) -> bool:
        """Whether the player is still running."""

    @abstractmethod
    def kill(self) -> None:
        """Kill the player and everything it started; remove its sandbox. Safe to call twice."""

    @abstractmethod
    def stderr(self) -> str:
        """The end of what the player wrote to stderr (bounded), once it is killed."""


class Sandbox(ABC):
    """A started sandbox. Use as a context manager; :meth:`close` leaves nothing behind."""

    config: SandboxConfig
    name: str = ""  # the backend's name
    isolated: bool = True  # False only for the development backend ``local``
    agent_uid: int | None = None  # uid of the agent's shell (None: the caller's own)
    evaluator_uid: int | None = None  # uid of run_isolated processes (None: the caller's own)

    def path_for(self, target: str) -> str:
        """Where the sandbox path ``target`` (the workspace target, a mount target or below) is
        as the agent's shell sees it: itself for isolating backends; ``local`` maps it onto the
        host folder it stands for."""
        return target

    def host_pids(self) -> list[int]:
        """Host pids of the processes now running in the agent's sandbox (shell included);
        empty where the backend cannot see them (e.g. a remote docker engine)."""
        return []

    @abstractmethod
    def start(self) -> None:
        """Create the isolation and start the agent's persistent bash."""

    @abstractmethod
    def run(self, command: str, timeout: float) -> CommandResult:
        """Run ``command`` in the persistent shell (state persists). On timeout the whole process
        tree of the command is killed, ``timed_out`` is set and the shell stays usable."""

    @abstractmethod
    def run_isolated(self, argv: list[str], *, cwd: str, mounts: list[Mount], env: dict[str, str],
                     timeout: float, workspace: Path | None = None) -> CommandResult:
        """Run a fresh one-shot process under a different identity than the agent (the
        evaluator): it sees the workspace read-only plus ``mounts``; the agent cannot signal it.
        ``workspace`` (a host folder) is shown at the workspace's path instead of the live
        workspace, e.g. a snapshot of the submission files."""

    def start_player(self, argv: list[str], *, cwd: str, mounts: list[Mount],
                     env: dict[str, str], limits: Limits,
                     workspace: Path | None = None) -> PlayerProcess:
        """Start the agent's code as a player, in a fresh sandbox of its own: the player uid
        (neither the agent's nor the evaluator's), the workspace (or the host folder
        ``workspace`` in its place) read-only plus ``mounts``, no network, a private empty
        ``/tmp``, ``limits``; no view of the evaluator or the agent's shell. stdin is closed;
        stdout and stderr are kept for :meth:`PlayerProcess.stderr`."""
        raise NotImplementedError(f"the {self.name or type(self).__name__} backend cannot start "
                                  "players; use 'bwrap' or 'docker'")

    @abstractmethod
    def close(self) -> None:
        """Kill every process, remove containers and mounts. Safe to call twice."""

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
