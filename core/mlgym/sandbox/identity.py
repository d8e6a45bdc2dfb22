"""The identities every isolating backend uses: the agent, the evaluator and the player.

Both are fixed numeric uids so that file ownership means the same thing on the host, in a
bubblewrap sandbox and in a container:

| who | name | uid/gid (default) | override |
|---|---|---|---|
| the agent's shell | ``mlgym-agent`` | 61000 | ``MLGYM_AGENT_UID`` |
| the evaluator | ``mlgym-eval`` | 61001 | ``MLGYM_EVAL_UID`` |
| a player (the agent's code called by the evaluator) | ``mlgym-player`` | 61002 | ``MLGYM_PLAYER_UID`` |

No user is added to the host's ``/etc/passwd``: the sandboxes see a passwd file that has these
entries added (bubblewrap binds a generated copy, images carry them), so ``whoami``,
``getpass.getuser()`` and ``~`` work inside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlgym.errors import ConfigError

AGENT_HOME = "/home/agent"


@dataclass(frozen=True)
class Identity:
    """A uid/gid pair with the name and home it has inside a sandbox."""

    name: str
    uid: int
    home: str

    @property
    def gid(self) -> int:
        return self.uid

    def passwd_line(self) -> str:
        return f"{self.name}:x:{self.uid}:{self.gid}:MLGym {self.name}:{self.home}:/bin/bash\n"

    def group_line(self) -> str:
        return f"{self.name}:x:{self.gid}:\n"


def _uid_from_env(var: str, default: int) -> int:
    raw = os.environ.get(var)
    if raw is None:
        return default
    try:
        uid = int(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not a number; set it to an unused uid such as "
                          f"{default}") from None
    if uid <= 0 or uid >= 2**31:
        raise ConfigError(f"{var}={uid} must be a positive non-root uid, such as {default}")
    return uid


def agent() -> Identity:
    """The identity of the agent's shell."""
    return Identity("mlgym-agent", _uid_from_env("MLGYM_AGENT_UID", 61000), AGENT_HOME)


def evaluator() -> Identity:
    """The identity of evaluation processes; never the agent's."""
    ident = Identity("mlgym-eval", _uid_from_env("MLGYM_EVAL_UID", 61001), "/nonexistent")
    if ident.uid == agent().uid:
        raise ConfigError(f"MLGYM_EVAL_UID equals the agent uid {ident.uid}; the evaluator must "
                          "run under a different uid")
    return ident


def player() -> Identity:
    """The identity of player processes: neither the agent's nor the evaluator's, so a player
    can signal, trace or write to neither."""
    ident = Identity("mlgym-player", _uid_from_env("MLGYM_PLAYER_UID", 61002), "/tmp")
    if ident.uid in (agent().uid, evaluator().uid):
        raise ConfigError(f"MLGYM_PLAYER_UID={ident.uid} equals the agent's or the evaluator's "
                          "uid; the player must run under a uid of its own")
    return ident


def passwd_with_sandbox_users(passwd: str, group: str) -> tuple[str, str]:
    """Return ``passwd`` and ``group`` file contents with the sandbox identities added (or replaced
    where a line already uses their name or uid)."""
    idents = [agent(), evaluator(), player()]

    def keep(line: str, kind: str) -> bool:
        fields = line.split(":")
        if len(fields) < 3:
            return bool(line.strip())
        names = {i.name for i in idents}
        ids = {str(i.uid if kind == "passwd" else i.gid) for i in idents}
        return fields[0] not in names and fields[2] not in ids

    out_p = "".join(line + "\n" for line in passwd.splitlines() if keep(line, "passwd"))
    out_g = "".join(line + "\n" for line in group.splitlines() if keep(line, "group"))
    out_p += "".join(i.passwd_line() for i in idents)
    out_g += "".join(i.group_line() for i in idents)
    return out_p, out_g


def chown_tree(path: Path, uid: int, gid: int) -> None:
    """Give ``path`` and everything below it (without following links) to ``uid``."""
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)
