"""The ``bwrap`` backend: bubblewrap namespaces, a non-root agent uid, limits that hold.

Run as root, bubblewrap builds the sandbox *without* a user namespace; inside it ``prlimit`` sets
the limits and ``setpriv`` drops to the agent's uid with no capabilities, an empty bounding set
and ``no_new_privs``. What the agent sees:

* its own pid, IPC and UTS namespaces (it cannot see or signal anything outside), and no network
  but loopback unless ``SandboxConfig.network``;
* ``/usr`` and ``/etc`` read-only (with a passwd that names the sandbox users), fresh ``/dev``
  and ``/proc``;
* its home, ``/tmp`` and ``/dev/shm``: folders of one private tmpfs of
  :meth:`Limits.tmpfs_mb <mlgym.sandbox.base.Limits.tmpfs_mb>`, mounted on the host for the
  sandbox's lifetime so that their files outlive a restarted shell;
* the workspace read-write (owned by the agent uid), the configured Python prefix(es)
  read-only at their host paths, and the configured mounts; nothing else of the host.

Limits: a per-sandbox cgroup (v1 or v2) holds memory, processes and CPU share where the cgroup
tree is writable; ``prlimit`` holds file size and CPU seconds, and stands in for memory (address
space) and processes (per uid) where there is no cgroup. The evaluator (:meth:`run_isolated`)
runs in a fresh sandbox of its own under the evaluator uid, with the workspace read-only; a
player (:meth:`start_player`) likewise under the player uid, with its own limits and cgroup.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mlgym.errors import SandboxError
from mlgym.sandbox import identity, leftovers, procs
from mlgym.sandbox.base import CommandResult, Limits, Mount, PlayerProcess, Sandbox, SandboxConfig
from mlgym.sandbox.cgroups import Cgroup
from mlgym.sandbox.common import SYSTEM_PATH, HostPlayer, python_layout, run_process, spawn
from mlgym.sandbox.shell import BASH_ARGV, PipeShellProcess, Shell

_SYSTEM_DIRS = ("/usr", "/etc")
_MERGED_USR = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def probe() -> str | None:
    """``None`` if this backend works here, else why not and the fix."""
    missing = [tool for tool in ("bwrap", "setpriv", "prlimit") if shutil.which(tool) is None]
    if missing:
        return (f"{', '.join(missing)} not found: install them (Debian/Ubuntu: "
                "`apt-get install bubblewrap util-linux`)")
    if os.geteuid() != 0:
        return ("needs root: the agent and the evaluator run under their own uids "
                "(61000/61001), which only root can switch to; run as root or use 'docker'")
    proc = subprocess.run(["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc",
                           "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return (f"bwrap cannot create namespaces here ({proc.stderr.strip()}): the kernel or "
                "the container this runs in forbids it; use 'docker' instead")
    return None


class BwrapShellProcess(PipeShellProcess):
    """The agent's bash inside one bwrap pid namespace. Popen's pid is the outer bwrap;
    ``init_pid`` the namespace's pid 1 (bwrap's reaper); the shell is its first child."""

    def __init__(self, popen, init_pid: int, namespace: int):
        super().__init__(popen, shell_pid=-1)
        self.init_pid = init_pid
        self.namespace = namespace
        self._shell_pid: int | None = None

    @property
    def shell_pid(self) -> int:
        if self._shell_pid is None:
            kids = [p for p in (procs.read(c) for c in procs.children(self.init_pid)) if p]
            if not kids:
                return -1
            self._shell_pid = min(kids, key=lambda p: (p.start, p.pid)).pid
        return self._shell_pid

    @shell_pid.setter
    def shell_pid(self, value: int) -> None:
        self._shell_pid = None if value < 0 else value

    def command_pids(self, since: int) -> list[int]:
        skip = {self.init_pid, self.shell_pid}
        return [p.pid for p in procs.in_namespace(self.namespace)
                if p.pid not in skip and p.start >= since]

    def signal_shell(self, sig: int) -> None:
        if self.shell_pid > 0:
            procs.send([self.shell_pid], sig)

    def kill(self) -> None:
        members = [p.pid for p in procs.in_namespace(self.namespace)]
        procs.send([self.init_pid], 9)  # the namespace dies with its init
        procs.send([self.popen.pid], 9)
        self.popen.wait()
        self.close_pipes()
        procs.wait_gone(members)


class BwrapSandbox(Sandbox):
    """A bubblewrap sandbox for one episode; see the module docstring."""

    name = "bwrap"

    def __init__(self, config: SandboxConfig):
        self.config = config
        self._agent = identity.agent()
        self._evaluator = identity.evaluator()
        self._player = identity.player()
        self.agent_uid = self._agent.uid
        self.evaluator_uid = self._evaluator.uid
        self._runtime: Path | None = None
        self._cgroup: Cgroup | None = None
        self._shell: Shell | None = None
        self._scratch_mounted = False
        self._layout = python_layout(config)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        reason = probe()
        if reason:
            raise SandboxError(f"the bwrap backend is unavailable: {reason}")
        workspace = Path(self.config.workspace).resolve()
        workspace.mkdir(parents=True, exist_ok=True)
        self._runtime = Path(tempfile.mkdtemp(prefix="mlgym-bwrap-"))
        leftovers.claim(self._runtime)
        try:
            self._prepare(workspace)
            self._shell = Shell(self._launch_shell)
            self._shell.start()
        except BaseException:
            self.close()
            raise

    def _prepare(self, workspace: Path) -> None:
        """Users, the agent's tmpfs, ownership of its writable folders, and the cgroup."""
        assert self._runtime is not None
        passwd, group = identity.passwd_with_sandbox_users(Path("/etc/passwd").read_text(),
                                                           Path("/etc/group").read_text())
        (self._runtime / "passwd").write_text(passwd)
        (self._runtime / "group").write_text(group)
        for name in ("passwd", "group"):
            (self._runtime / name).chmod(0o644)
        self._mount_scratch()
        for path in [workspace] + [Path(m.source) for m in self.config.mounts if m.writable]:
            identity.chown_tree(path, self._agent.uid, self._agent.gid)
        self._cgroup = Cgroup.create(self.config.limits, prefix="mlgym-agent")

    def run(self, command: str, timeout: float) -> CommandResult:
        if self._shell is None:
            raise SandboxError("the sandbox is not started; call start() or use it as a context "
                               "manager")
        return self._shell.run(command, timeout)

    def run_isolated(self, argv: list[str], *, cwd: str, mounts: list[Mount],
                     env: dict[str, str], timeout: float,
                     workspace: Path | None = None) -> CommandResult:
        """A fresh sandbox under the evaluator uid: workspace read-only, ``mounts`` as given
        (read-only unless ``writable``), no network, its own pid namespace and cgroup."""
        cgroup = Cgroup.create(self.config.limits, prefix="mlgym-eval")
        shown = Mount(Path(workspace or self.config.workspace).resolve(),
                      self.config.workspace_target)
        env = {"PATH": ":".join(self._layout.bin_dirs + [SYSTEM_PATH]), "HOME": "/tmp",
               "USER": self._evaluator.name, "LOGNAME": self._evaluator.name, "LANG": "C.UTF-8",
               **self._layout.env, **env}
        args = (self._namespace_args(network=False)
                + self._filesystem_args(None, [shown, *mounts])
                + self._env_args(env) + ["--chdir", cwd, "--"]
                + self._drop_args(self._evaluator, cgroup) + list(argv))
        if cgroup is not None:
            args = cgroup.wrap(args)

        def kill(popen: subprocess.Popen) -> None:
            procs.send([popen.pid], 9)  # bwrap dies, its namespace with it (--die-with-parent)
            if cgroup is not None:
                cgroup.kill_all()

        try:
            return run_process(args, env={"PATH": SYSTEM_PATH}, cwd="/", timeout=timeout,
                               kill=kill)
        finally:
            if cgroup is not None:
                cgroup.remove()

    def start_player(self, argv: list[str], *, cwd: str, mounts: list[Mount],
                     env: dict[str, str], limits: Limits,
                     workspace: Path | None = None) -> PlayerProcess:
        """A fresh sandbox under the player uid: workspace read-only, ``mounts``, no network,
        fresh ``/tmp`` and ``/dev/shm`` of ``limits``, its own pid namespace and cgroup."""
        cgroup = Cgroup.create(limits, prefix="mlgym-player")
        shown = Mount(Path(workspace or self.config.workspace).resolve(),
                      self.config.workspace_target)
        env = {"PATH": ":".join(self._layout.bin_dirs + [SYSTEM_PATH]), "HOME": "/tmp",
               "USER": self._player.name, "LOGNAME": self._player.name, "LANG": "C.UTF-8",
               **self._layout.env, **env}
        args = (self._namespace_args(network=False)
                + self._filesystem_args(None, [shown, *mounts], limits.tmpfs_mb())
                + self._env_args(env) + ["--chdir", cwd, "--"]
                + self._drop_args(self._player, cgroup, limits) + list(argv))
        if cgroup is not None:
            args = cgroup.wrap(args)

        def kill(popen: subprocess.Popen) -> None:
            procs.send([popen.pid], 9)
            if cgroup is not None:
                cgroup.kill_all()

        def cleanup() -> None:
            if cgroup is not None:
                cgroup.kill_all()
                cgroup.remove()

        try:
            return HostPlayer(args, env={"PATH": SYSTEM_PATH}, kill=kill, cleanup=cleanup, cwd="/")
        except BaseException:
            cleanup()
            raise

    def host_pids(self) -> list[int]:
        proc = self._shell.process if self._shell is not None else None
        if not isinstance(proc, BwrapShellProcess):
            return []
        return [p.pid for p in procs.in_namespace(proc.namespace) if p.pid != proc.init_pid]

    def close(self) -> None:
        shell, self._shell = self._shell, None
        try:
            if shell is not None:
                shell.close()
        finally:
            self._release()

    def _release(self) -> None:
        """Unmount the agent's tmpfs, remove the cgroup and the runtime folder."""
        stuck = None
        if self._scratch_mounted:
            assert self._runtime is not None
            scratch = self._runtime / "scratch"
            # lazily: the mount is gone from the host at once, its memory once nothing uses it
            proc = subprocess.run(["umount", "--lazy", str(scratch)], capture_output=True,
                                  text=True)
            self._scratch_mounted = False
            if proc.returncode != 0:
                stuck = f"cannot unmount {scratch} ({proc.stderr.strip()}): run `umount {scratch}`"
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        if self._runtime is not None and stuck is None:
            shutil.rmtree(self._runtime, ignore_errors=True)
        self._runtime = None
        if stuck:
            raise SandboxError(stuck)

    def _mount_scratch(self) -> None:
        """The tmpfs that holds the agent's home, ``/tmp`` and ``/dev/shm`` (all writes there
        are memory, charged to the sandbox's cgroup): sized so that filling them is bounded."""
        assert self._runtime is not None
        scratch = self._runtime / "scratch"
        scratch.mkdir()
        options = "mode=0755,nosuid,nodev"
        size_mb = self.config.limits.tmpfs_mb()
        if size_mb:
            options += f",size={size_mb}m"
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "mlgym-scratch",
                               str(scratch)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SandboxError(f"cannot mount the sandbox's tmpfs at {scratch}: "
                               f"{proc.stderr.strip()}; the bwrap backend needs root with "
                               "CAP_SYS_ADMIN (or use 'docker')")
        self._scratch_mounted = True
        (scratch / "home").mkdir(mode=0o700)
        identity.chown_tree(scratch / "home", self._agent.uid, self._agent.gid)
        for name in ("tmp", "shm"):
            (scratch / name).mkdir()
            (scratch / name).chmod(0o1777)

    # -- command lines ------------------------------------------------------------------------

    def _launch_shell(self) -> BwrapShellProcess:
        assert self._runtime is not None
        workspace = Mount(Path(self.config.workspace).resolve(), self.config.workspace_target,
                          writable=True)
        path = self.config.path_prepend + self._layout.bin_dirs + [SYSTEM_PATH]
        env = {"PATH": ":".join(path), "HOME": self._agent.home, "USER": self._agent.name,
               "LOGNAME": self._agent.name, "SHELL": "/bin/bash", "LANG": "C.UTF-8",
               "TERM": "dumb", **self._layout.env, **self.config.env}
        info_r, info_w = os.pipe()
        args = (self._namespace_args(network=self.config.network) + ["--info-fd", str(info_w)]
                + self._filesystem_args(self._runtime / "scratch",
                                        [workspace, *self.config.mounts])
                + self._gpu_args() + self._env_args(env)
                + ["--chdir", self.config.workspace_target, "--"]
                + self._drop_args(self._agent, self._cgroup) + BASH_ARGV)
        if self._cgroup is not None:
            args = self._cgroup.wrap(args)
        try:
            popen = spawn(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, pass_fds=(info_w,), start_new_session=True,
                          env={"PATH": SYSTEM_PATH})
        finally:
            os.close(info_w)
        with os.fdopen(info_r, "rb") as f:
            raw = f.read()
        if not raw:
            output = popen.stdout.read().decode(errors="replace")
            popen.wait()
            raise SandboxError(f"bwrap failed to start the sandbox: {output.strip()}")
        info = json.loads(raw)
        return BwrapShellProcess(popen, info["child-pid"], info["pid-namespace"])

    def _namespace_args(self, network: bool) -> list[str]:
        args = ["bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname",
                "mlgym", "--die-with-parent", "--new-session"]
        if not network:
            args.append("--unshare-net")
        return args

    def _filesystem_args(self, scratch: Path | None, mounts: list[Mount],
                         tmpfs_mb: int | None = None) -> list[str]:
        """The mount arguments: system folders, Python, ``mounts``; home, ``/tmp`` and
        ``/dev/shm`` from ``scratch`` (the agent's tmpfs) or, without it, fresh sized tmpfs."""
        assert self._runtime is not None
        args: list[str] = []
        for d in _SYSTEM_DIRS:
            args += ["--ro-bind", d, d]
        for d in _MERGED_USR:
            if os.path.islink(d):
                args += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                args += ["--ro-bind", d, d]
        args += ["--ro-bind", str(self._runtime / "passwd"), "/etc/passwd",
                 "--ro-bind", str(self._runtime / "group"), "/etc/group",
                 "--dev", "/dev", "--proc", "/proc"]
        if scratch is not None:
            args += ["--bind", str(scratch / "tmp"), "/tmp", "--bind", str(scratch / "shm"),
                     "/dev/shm"]
        else:
            size_mb = tmpfs_mb or self.config.limits.tmpfs_mb()
            for target in ("/tmp", "/dev/shm"):
                args += ["--size", str(size_mb * 1024 * 1024)] if size_mb else []
                args += ["--perms", "1777", "--tmpfs", target]
        made: set[str] = {"/", "/tmp", "/dev", "/proc", *_SYSTEM_DIRS, *_MERGED_USR}
        for prefix in self._layout.prefixes:
            args += _parents(prefix, made) + ["--ro-bind", str(Path(prefix).resolve()), prefix]
            made.add(prefix)
        # the harness's site-packages wherever the system folders or a prefix show them, before
        # anything is mounted below them
        shown = [Path(d).resolve() for d in (*_SYSTEM_DIRS, *_MERGED_USR, *self._layout.prefixes)
                 if os.path.isdir(d)]
        for hidden in self._layout.masked:
            if any(Path(hidden).is_relative_to(folder) for folder in shown):
                args += ["--tmpfs", hidden]
                made.add(hidden)
        binds = []
        if scratch is not None:
            binds.append(Mount(scratch / "home", self._agent.home, writable=True))
        binds += sorted(mounts, key=lambda m: m.target.rstrip("/").count("/"))
        if self.config.network and os.path.islink("/etc/resolv.conf"):
            target = os.path.realpath("/etc/resolv.conf")
            binds.append(Mount(Path(target), target))
        for m in binds:
            target = "/" + m.target.strip("/")
            args += _parents(target, made)
            args += ["--bind" if m.writable else "--ro-bind", str(Path(m.source).resolve()),
                     target]
            made.add(target)
        return args

    def _gpu_args(self) -> list[str]:
        if self.config.gpus <= 0:
            return []
        devices = sorted(glob.glob("/dev/nvidia*"))
        if not devices:
            raise SandboxError(f"SandboxConfig.gpus={self.config.gpus} but this machine has no "
                               "/dev/nvidia* device; set gpus=0 or install the NVIDIA driver")
        args = []
        for dev in devices:
            args += ["--dev-bind", dev, dev]
        visible = ",".join(str(i) for i in range(self.config.gpus))
        return args + ["--setenv", "CUDA_VISIBLE_DEVICES", visible]

    @staticmethod
    def _env_args(env: dict[str, str]) -> list[str]:
        args = ["--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        return args

    def _drop_args(self, who: identity.Identity, cgroup: Cgroup | None,
                   limits: Limits | None = None) -> list[str]:
        limits = limits or self.config.limits
        rl = ["prlimit", "--core=0"]
        if limits.file_size_mb:
            rl.append(f"--fsize={limits.file_size_mb * 1024 * 1024}")
        if limits.cpu_seconds:
            rl.append(f"--cpu={limits.cpu_seconds}")
        if limits.memory_mb and not (cgroup and cgroup.limits_memory):
            rl.append(f"--as={limits.memory_mb * 1024 * 1024}")
        if limits.processes and not (cgroup and cgroup.limits_pids):
            rl.append(f"--nproc={limits.processes}")
        return rl + ["--", "setpriv", f"--reuid={who.uid}", f"--regid={who.gid}",
                     "--clear-groups", "--no-new-privs", "--bounding-set=-all",
                     "--inh-caps=-all"]


def _parents(target: str, made: set[str]) -> list[str]:
    """``--dir`` arguments (mode 0755) for the missing ancestors of ``target``: bwrap would
    otherwise create them 0700 root, which the agent cannot traverse."""
    args = []
    parts = target.strip("/").split("/")[:-1]
    for i in range(len(parts)):
        d = "/" + "/".join(parts[: i + 1])
        if d not in made and not any(d.startswith(s + "/") for s in _SYSTEM_DIRS):
            args += ["--perms", "0755", "--dir", d]
            made.add(d)
    return args
