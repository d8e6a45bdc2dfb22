"""The ``docker`` backend: a container per episode, driven through the docker SDK.

The container runs a root init without capabilities (``docker-init`` and ``sleep infinity``);
the agent's bash is a ``docker exec`` as the agent uid whose attached socket is the engine's pipe
pair. The container has ``network_mode=none`` (unless ``SandboxConfig.network``), a read-only
root, tmpfs ``/tmp``, home and ``/dev/shm`` of ``Limits.tmpfs_mb()`` each, the memory/CPU/pids
limits of :class:`~mlgym.sandbox.base.Limits`, ``cap_drop=ALL`` and ``no-new-privileges``; a
container whose memory is so full of tmpfs files that no shell starts is started afresh.
GPUs come as a device request when ``SandboxConfig.gpus > 0``. The workspace is bind-mounted
read-write (and chowned to the agent uid on the host), other mounts read-only unless
``writable``. :meth:`run_isolated` starts a
separate short-lived container as the evaluator uid with the workspace read-only, and
:meth:`start_player` one as the player uid, with the player's own limits.

Images come from :mod:`mlgym.sandbox.images` (built locally; nothing is pulled). When the docker
daemon runs on this host, timeouts kill exactly the command's processes through ``/proc``;
otherwise every agent process in the container is killed and the shell restarted.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import struct
import time
from pathlib import Path
from typing import Any

from mlgym.errors import SandboxError
from mlgym.sandbox import identity, images, procs
from mlgym.sandbox.base import CommandResult, Limits, Mount, PlayerProcess, Sandbox, SandboxConfig
from mlgym.sandbox.shell import BASH_ARGV, OutputCapture, Shell, ShellProcess

log = logging.getLogger(__name__)

LABEL = "mlgym.sandbox"
OWNER_LABEL = "mlgym.owner"  # "<pid> <start time>" of the process that made the container
HOST_LABEL = "mlgym.host"  # the machine it runs on: owners are only judged on their own host


def sweep_containers() -> list[str]:
    """Remove the containers whose owner on this machine is gone; return their names.

    Quiet and quick when docker is not installed or no daemon answers.
    """
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
        return []
    try:
        import docker

        client = docker.from_env(timeout=5)
        found = client.containers.list(all=True, filters={"label": [OWNER_LABEL,
                                                                    f"{HOST_LABEL}={_host()}"]})
    except Exception:  # no daemon, no package: nothing of ours can be left there
        return []
    removed = []
    for container in found:
        if procs.tag_alive(container.labels.get(OWNER_LABEL, "")) is False:
            try:
                container.remove(force=True)
                removed.append(container.name)
            except Exception as exc:  # already gone, or the daemon refused: say so, go on
                log.warning("cannot remove container %s: %s", container.name, exc)
    return removed


def _host() -> str:
    return socket.gethostname()


def probe() -> str | None:
    """``None`` if this backend works here, else why not and the fix."""
    try:
        import docker
    except ImportError:
        return "the docker Python package is not installed: `pip install docker`"
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=5)
        client.ping()
        info = client.info()
    except Exception as exc:  # any failure to talk to the daemon is the finding
        return (f"dockerd not reachable at {host} ({type(exc).__name__}): start dockerd "
                "(see .ci/docker.sh: `source .ci/docker.sh; mlgym_docker_start`)")
    if "runc" not in info.get("Runtimes", {}):
        return "dockerd has no runc runtime: install runc (Debian: `apt-get install runc`)"
    if not images.image_exists(images.base_image_tag(), client) and not shutil.which("debootstrap"):
        return ("the base image is not built and debootstrap is missing: `apt-get install "
                "debootstrap`, then `python -m mlgym.sandbox.images base`")
    return None


class DockerShellProcess(ShellProcess):
    """bash as a ``docker exec`` whose hijacked socket carries stdin and the multiplexed
    stdout/stderr frames (8-byte header: stream, 0, 0, 0, big-endian length)."""

    def __init__(self, sandbox: DockerSandbox, exec_id: str, sock):
        self._sandbox = sandbox
        self._client = sandbox.client
        self.exec_id = exec_id
        self._sock: socket.socket = getattr(sock, "_sock", sock)
        self._sock.setblocking(False)
        self._buf = b""
        self._shell_pid = -1

    @property
    def shell_pid(self) -> int:
        """The host pid of the exec'd bash (docker reports it once the exec has started)."""
        if self._shell_pid <= 0:
            self._shell_pid = int(self._client.api.exec_inspect(self.exec_id).get("Pid") or -1)
        return self._shell_pid

    def read_fileno(self) -> int:
        return self._sock.fileno()

    def write_fileno(self) -> int:
        return self._sock.fileno()

    def read(self) -> bytes | None:
        try:
            data = self._sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            return None
        if not data:
            return None
        buf = self._buf + data
        out, pos = [], 0
        while len(buf) - pos >= 8:
            size = struct.unpack(">I", buf[pos + 4:pos + 8])[0]
            if len(buf) - pos - 8 < size:
                break
            out.append(buf[pos + 8:pos + 8 + size])
            pos += 8 + size
        self._buf = buf[pos:]
        return b"".join(out)

    def write(self, data: bytes | memoryview) -> int:
        try:
            return self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            return 0

    def alive(self) -> bool:
        try:
            return bool(self._client.api.exec_inspect(self.exec_id).get("Running"))
        except Exception:
            return False

    def command_pids(self, since: int) -> list[int]:
        return [p.pid for p in self._sandbox.members()
                if p.pid != self.shell_pid and p.start >= since]

    def signal_shell(self, sig: int) -> None:
        if self._sandbox.sees_processes and self.shell_pid > 0:
            procs.send([self.shell_pid], sig)

    def kill(self) -> None:
        self._sandbox.kill_agent_processes()
        try:
            self._sock.close()
        except OSError:
            pass


class ContainerPlayer(PlayerProcess):
    """A player in a short-lived container of its own; killing it removes the container."""

    def __init__(self, container):
        self._container = container
        self._output = ""
        self._removed = False

    def alive(self) -> bool:
        if self._removed:
            return False
        try:
            self._container.reload()
        except Exception:
            return False
        return self._container.status in ("created", "running")

    def kill(self) -> None:
        if self._removed:
            return
        self._removed = True
        try:
            capture = OutputCapture(64 * 1024)
            capture.add(self._container.logs(stdout=True, stderr=True))
            self._output = capture.text()[0]
        except Exception:
            pass
        finally:
            self._container.remove(force=True)

    def stderr(self) -> str:
        return self._output


class DockerSandbox(Sandbox):
    """One container per episode; see the module docstring."""

    name = "docker"

    def __init__(self, config: SandboxConfig, client=None):
        self.config = config
        self._agent = identity.agent()
        self._evaluator = identity.evaluator()
        self._player = identity.player()
        self.agent_uid = self._agent.uid
        self.evaluator_uid = self._evaluator.uid
        self.client = client
        self.container: Any = None
        self.image: str | None = None
        self.sees_processes = False  # the engine runs on this host: its /proc shows them
        self._namespace: int | None = None
        self._init_pid = -1
        self._shell: Shell | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        import docker

        if self.client is None:
            reason = probe()
            if reason:
                raise SandboxError(f"the docker backend is unavailable: {reason}")
            self.client = docker.from_env()
        self.image = self.config.image or images.ensure_task_image([], self.client)
        workspace = Path(self.config.workspace).resolve()
        workspace.mkdir(parents=True, exist_ok=True)
        for path in [workspace] + [Path(m.source) for m in self.config.mounts if m.writable]:
            identity.chown_tree(path, self._agent.uid, self._agent.gid)
        mounts = [Mount(workspace, self.config.workspace_target, writable=True),
                  *self.config.mounts]
        tmpfs = {self._agent.home: f"uid={self._agent.uid},gid={self._agent.gid},mode=700"}
        self.container = self._create(["sleep", "infinity"], mounts, tmpfs=tmpfs, user="0:0",
                                      network=self.config.network, role="agent",
                                      workdir=self.config.workspace_target, env={})
        self._start_container()
        self._shell = Shell(self._launch_shell, recover=self._restart_container)
        try:
            self._shell.start()
        except BaseException:
            self.close()
            raise

    def run(self, command: str, timeout: float) -> CommandResult:
        if self._shell is None:
            raise SandboxError("the sandbox is not started; call start() or use it as a context "
                               "manager")
        return self._shell.run(command, timeout)

    def run_isolated(self, argv: list[str], *, cwd: str, mounts: list[Mount],
                     env: dict[str, str], timeout: float,
                     workspace: Path | None = None) -> CommandResult:
        """A separate container as the evaluator uid: workspace read-only, no network."""
        import requests

        shown = Mount(Path(workspace or self.config.workspace).resolve(),
                      self.config.workspace_target)
        user = f"{self._evaluator.uid}:{self._evaluator.gid}"
        container = self._create(list(argv), [shown, *mounts], tmpfs={}, user=user,
                                 network=False, role="evaluator", workdir=cwd,
                                 env={"HOME": "/tmp", "USER": self._evaluator.name, **env})
        timed_out, code = False, None
        started = time.perf_counter()
        try:
            container.start()
            try:
                code = container.wait(timeout=timeout)["StatusCode"]
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                timed_out = True
                container.kill()
            out, err = OutputCapture(4 << 20), OutputCapture(4 << 20)
            out.add(container.logs(stdout=True, stderr=False))
            err.add(container.logs(stdout=False, stderr=True))
        finally:
            container.remove(force=True)
        stdout, dropped_out = out.text()
        stderr, dropped_err = err.text()
        return CommandResult(output=stdout, exit_code=code, duration=time.perf_counter() - started,
                             timed_out=timed_out,
                             truncated_bytes=dropped_out + dropped_err, stderr=stderr)

    def start_player(self, argv: list[str], *, cwd: str, mounts: list[Mount],
                     env: dict[str, str], limits: Limits,
                     workspace: Path | None = None) -> PlayerProcess:
        """A separate container as the player uid: workspace read-only, no network, fresh
        ``/tmp``, the player's limits."""
        shown = Mount(Path(workspace or self.config.workspace).resolve(),
                      self.config.workspace_target)
        user = f"{self._player.uid}:{self._player.gid}"
        container = self._create(list(argv), [shown, *mounts], tmpfs={}, user=user,
                                 network=False, role="player", workdir=cwd,
                                 env={"HOME": "/tmp", "USER": self._player.name, **env},
                                 limits=limits)
        try:
            container.start()
        except BaseException:
            container.remove(force=True)
            raise
        return ContainerPlayer(container)

    def host_pids(self) -> list[int]:
        return [p.pid for p in self.members()]

    def close(self) -> None:
        shell, self._shell = self._shell, None
        try:
            if shell is not None:
                shell.close()
        finally:  # the container goes even if the shell could not be stopped cleanly
            if self.container is not None:
                try:
                    self.container.remove(force=True)
                except Exception as exc:
                    import docker

                    if not isinstance(exc, docker.errors.NotFound):
                        raise
                self.container = None

    # -- helpers ------------------------------------------------------------------------------

    def _create(self, command: list[str], mounts: list[Mount], *, tmpfs: dict[str, str],
                user: str, network: bool, role: str, workdir: str, env: dict[str, str],
                limits: Limits | None = None):
        import docker

        limits = limits or self.config.limits
        size_mb = limits.tmpfs_mb()
        # every tmpfs is memory charged to the container: sized, so that filling one cannot
        # use up the memory limit on its own
        sized = f",size={size_mb}m" if size_mb else ""
        tmpfs = {target: f"rw,nosuid,nodev,{opts}{sized}"
                 for target, opts in {"/tmp": "mode=1777", **tmpfs}.items()}
        ulimits = [docker.types.Ulimit(name="core", soft=0, hard=0)]
        if limits.file_size_mb:
            size = limits.file_size_mb * 1024 * 1024
            ulimits.append(docker.types.Ulimit(name="fsize", soft=size, hard=size))
        if limits.cpu_seconds:
            ulimits.append(docker.types.Ulimit(name="cpu", soft=limits.cpu_seconds,
                                               hard=limits.cpu_seconds))
        options = dict(
            image=self.image, command=command, user=user, working_dir=workdir,
            environment=env, hostname="mlgym", init=True, read_only=True,
            network_mode=None if network else "none", tmpfs=tmpfs,
            mounts=[docker.types.Mount(m.target, str(Path(m.source).resolve()), type="bind",
                                       read_only=not m.writable) for m in mounts],
            cap_drop=["ALL"], security_opt=["no-new-privileges"], ulimits=ulimits,
            pids_limit=limits.processes or None,
            labels={LABEL: role, OWNER_LABEL: procs.owner_tag(), HOST_LABEL: _host()},
        )
        if size_mb:
            options["shm_size"] = f"{size_mb}m"
        if limits.memory_mb:
            options["mem_limit"] = f"{limits.memory_mb}m"
            options["memswap_limit"] = f"{limits.memory_mb}m"
        if limits.cpus:
            options["nano_cpus"] = int(limits.cpus * 1e9)
        if self.config.gpus > 0 and role == "agent":
            options["device_requests"] = [docker.types.DeviceRequest(
                count=self.config.gpus, capabilities=[["gpu"]])]
        try:
            return self.client.containers.create(**options)
        except docker.errors.ImageNotFound:
            raise SandboxError(f"docker image {self.image!r} not found: build it with "
                               "mlgym.sandbox.images (nothing can be pulled)") from None

    def _start_container(self) -> None:
        self.container.start()
        self.container.reload()
        self._init_pid = int(self.container.attrs["State"]["Pid"] or -1)
        self._namespace = procs.pid_namespace(self._init_pid) if self._init_pid > 0 else None
        self.sees_processes = self._namespace is not None

    def _restart_container(self) -> str:
        """Start the agent's container afresh when no shell comes up in it: its memory may be
        full of tmpfs files (which no process kill frees) or the kernel killed its init."""
        import docker

        self.kill_agent_processes()
        try:
            self.container.stop(timeout=0)
            self._start_container()
        except docker.errors.APIError as exc:
            raise SandboxError(f"the sandbox container {self.container.short_id} could not be "
                               f"started again: {exc}") from exc
        return ("[no shell could start in the sandbox (its memory was full, for example of "
                "files in /tmp, /dev/shm or the home folder), so the sandbox was started again: "
                "those folders are empty now; the workspace is kept]")

    def _launch_shell(self) -> DockerShellProcess:
        import docker

        self.container.reload()
        if self.container.status != "running":
            state = self.container.attrs["State"]
            raise SandboxError(f"the sandbox container {self.container.short_id} stopped "
                               f"(exit code {state.get('ExitCode')}, killed for memory: "
                               f"{state.get('OOMKilled')})")
        image_env = self.client.images.get(self.image).attrs["Config"].get("Env") or []
        base_path = next((e[5:] for e in image_env if e.startswith("PATH=")), "/usr/bin:/bin")
        env = {"PATH": ":".join([*self.config.path_prepend, base_path]),
               "HOME": self._agent.home, "USER": self._agent.name, "LOGNAME": self._agent.name,
               "SHELL": "/bin/bash", "LANG": "C.UTF-8", "TERM": "dumb", **self.config.env}
        try:
            exec_id = self.client.api.exec_create(
                # one stream keeps the order of stdout and stderr (docker frames them apart)
                self.container.id, ["/bin/sh", "-c", 'exec "$@" 2>&1', "sh", *BASH_ARGV],
                stdin=True, stdout=True, stderr=True, tty=False,
                user=f"{self._agent.uid}:{self._agent.gid}",
                workdir=self.config.workspace_target,
                environment=[f"{k}={v}" for k, v in env.items()])["Id"]
            sock = self.client.api.exec_start(exec_id, socket=True)
        except docker.errors.APIError as exc:  # e.g. the container died a moment ago
            raise SandboxError(f"cannot start a shell in the sandbox container "
                               f"{self.container.short_id}: {exc}") from exc
        return DockerShellProcess(self, exec_id, sock)

    def members(self) -> list[procs.Proc]:
        """The agent's processes in the container, as host pids (the root-owned init and its
        ``sleep infinity`` are not among them); empty if the engine is not on this host."""
        if not self.sees_processes or self._namespace is None:
            return []
        return [p for p in procs.in_namespace(self._namespace) if p.uid == self._agent.uid]

    def kill_agent_processes(self) -> None:
        """Kill every process of the agent in the container (the shell included)."""
        if self.sees_processes:
            for _ in range(20):
                pids = [p.pid for p in self.members()]
                if not pids:
                    return
                procs.send(pids, signal.SIGKILL)
                procs.wait_gone(pids, timeout=0.5)
        elif self.container is not None:
            self.container.exec_run(["kill", "-KILL", "-1"],
                                    user=f"{self._agent.uid}:{self._agent.gid}")
