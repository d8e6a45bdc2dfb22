"""The engine's pure parts: quoting, carriage returns, the capture cap, identities, cgroups."""

from __future__ import annotations

import subprocess

import pytest

from mlgym.errors import ConfigError
from mlgym.sandbox import cgroups, identity
from mlgym.sandbox.base import Limits
from mlgym.sandbox.shell import OutputCapture, bash_quote, collapse_carriage_returns


@pytest.mark.parametrize("text", ["plain", "it's", "back\\slash", "new\nline", "tab\t", "ü€😀",
                                  "$HOME `id` $(id) !!", "\x01\x7f", ""])
def test_bash_quote_gives_bash_the_exact_bytes(text):
    out = subprocess.run(["bash", "-c", f"printf %s {bash_quote(text)}"], capture_output=True)
    assert out.stdout == text.encode()


def test_bash_quote_drops_nul_bytes():
    out = subprocess.run(["bash", "-c", f"printf %s {bash_quote('a' + chr(0) + 'b')}"],
                         capture_output=True)
    assert out.stdout == b"ab"


@pytest.mark.parametrize("raw, shown", [
    ("50%\r100%", "100%"),
    ("abcdef\rXY", "XYcdef"),
    ("line\r\nnext\r\n", "line\nnext\n"),
    ("a\rb\nc\rd\n", "b\nd\n"),
    ("progress 1/3\rprogress 2/3\rprogress 3/3\ndone", "progress 3/3\ndone"),
    ("no carriage return\n", "no carriage return\n"),
])
def test_carriage_returns_collapse_to_what_a_terminal_shows(raw, shown):
    assert collapse_carriage_returns(raw) == shown


def test_capture_keeps_head_and_tail_and_counts_the_rest():
    capture = OutputCapture(100)
    capture.add(b"H" * 60)
    for _ in range(100):
        capture.add(b"m" * 10)
    capture.add(b"T" * 50)
    text, dropped = capture.text()
    assert text.startswith("H" * 50)
    assert text.endswith("T" * 50)
    assert dropped == 60 + 1000 + 50 - 100
    assert f"[... {dropped} bytes of output dropped ...]" in text


def test_capture_under_the_limit_is_untouched():
    capture = OutputCapture(1000)
    capture.add(b"abc\xff")
    assert capture.text() == ("abc\ufffd", 0)


def test_sandbox_users_are_added_to_passwd_without_duplicates():
    passwd = "root:x:0:0:root:/root:/bin/bash\nmlgym-agent:x:5:5::/:/bin/sh\n"
    group = "root:x:0:\n"
    new_passwd, new_group = identity.passwd_with_sandbox_users(passwd, group)
    lines = new_passwd.splitlines()
    assert lines[0].startswith("root:")
    assert [line.split(":")[2] for line in lines if line.startswith("mlgym-agent:")] == ["61000"]
    assert any(line.startswith("mlgym-eval:x:61001:61001:") for line in lines)
    assert "mlgym-agent:x:61000:" in new_group


def test_uids_can_be_overridden_but_never_collide(monkeypatch):
    monkeypatch.setenv("MLGYM_AGENT_UID", "62000")
    assert identity.agent().uid == 62000
    monkeypatch.setenv("MLGYM_EVAL_UID", "62000")
    with pytest.raises(ConfigError, match="different uid"):
        identity.evaluator()
    monkeypatch.setenv("MLGYM_AGENT_UID", "root")
    with pytest.raises(ConfigError, match="MLGYM_AGENT_UID='root'"):
        identity.agent()


def test_a_cgroup_holds_its_limits_and_is_removed():
    if cgroups.unavailable_reason() is not None:
        pytest.skip(cgroups.unavailable_reason())
    group = cgroups.Cgroup.create(Limits(memory_mb=64, processes=10))
    assert group is not None
    dirs = list(group.dirs)
    try:
        proc = subprocess.run(group.wrap(["sh", "-c", "cat /proc/self/cgroup"]),
                              capture_output=True, text=True, check=True)
        assert group.dirs[0].name in proc.stdout
        assert group.limits_memory and group.limits_pids
    finally:
        group.remove()
    assert dirs and not any(d.exists() for d in dirs)
