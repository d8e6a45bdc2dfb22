"""The shell engine's behaviour, the same on every backend."""

from __future__ import annotations

import time

import pytest

from mlgym.sandbox import procs


def test_state_persists_between_commands(sandbox):
    sandbox.run("cd /tmp && export GREETING=hi && NAME=there && greet() { echo \"$1!\"; }", 10)
    result = sandbox.run('pwd; echo "$GREETING $NAME"; greet yo', 10)
    assert result.output == "/tmp\nhi there\nyo!\n"
    assert result.exit_code == 0


def test_starts_in_the_workspace(sandbox):
    result = sandbox.run("pwd; cat hello.txt", 10)
    assert result.output.splitlines() == [sandbox.path_for(sandbox.config.workspace_target),
                                          "hello"]


def test_exit_codes_and_stderr_are_reported(sandbox):
    assert sandbox.run("true", 10).exit_code == 0
    assert sandbox.run("false", 10).exit_code == 1
    result = sandbox.run("echo out; echo err >&2; (exit 7)", 10)
    assert result.exit_code == 7
    assert result.output == "out\nerr\n"


def test_a_syntax_error_does_not_swallow_the_next_command(sandbox):
    result = sandbox.run('echo "unterminated', 10)
    assert result.exit_code == 2
    assert result.output.splitlines() == [  # bash's message, nothing of the shell's machinery
        "bash: unexpected EOF while looking for matching `\"'"]
    assert sandbox.run("echo next", 10).output == "next\n"


def test_quotes_newlines_and_unicode_reach_bash_unchanged(sandbox):
    command = "printf '%s|' \"it's\" 'back\\slash' \"$((1+2))\" 'tab\there' 'ünïcødé €'\necho"
    result = sandbox.run(command, 10)
    assert result.output == "it's|back\\slash|3|tab\there|ünïcødé €|\n"


def test_virtualenv_activation_persists(sandbox):
    result = sandbox.run("python3 -m venv --without-pip /tmp/venv && source /tmp/venv/bin/activate"
                         " && echo $VIRTUAL_ENV", 60)
    assert result.output.strip() == "/tmp/venv", result.output
    after = sandbox.run("command -v python; python -c 'import sys; print(sys.prefix)'", 30)
    assert after.output.splitlines() == ["/tmp/venv/bin/python", "/tmp/venv"]


@pytest.mark.parametrize(("program", "exit_code", "output"), [
    ("cat", 0, ""),
    ("python3 -c 'input()'", 1, "EOFError: EOF when reading a line\n"),
    ("read line; echo got=$line", 0, "got=\n"),
])
def test_stdin_is_closed_so_interactive_programs_do_not_hang(sandbox, program, exit_code, output):
    result = sandbox.run(program, 60)
    assert not result.timed_out
    assert result.exit_code == exit_code
    assert result.output.endswith(output)


def test_binary_output_is_decoded_with_replacement(sandbox):
    result = sandbox.run(r"printf 'a\xff\xfeb\x00c\n'", 10)
    assert result.output == "a\ufffd\ufffdb\x00c\n"


def test_carriage_return_progress_is_collapsed(sandbox):
    result = sandbox.run(r"for i in 10 50 100; do printf '\rloading %3d%%' $i; done; "
                         r"printf '\ndone\r\n'", 10)
    assert result.output == "loading 100%\ndone\n"


def test_huge_output_is_capped_with_head_tail_and_a_count(sandbox):
    result = sandbox.run("echo START; head -c 10000000 /dev/zero | tr '\\0' x; echo; echo END", 60)
    assert result.exit_code == 0
    assert result.output.startswith("START\nxxx")
    assert result.output.endswith("xxx\nEND\n")
    assert result.truncated_bytes > 5_000_000
    assert f"{result.truncated_bytes} bytes of output dropped" in result.output
    assert len(result.output) < 5_000_000


def test_a_huge_command_is_accepted(sandbox):
    payload = "y" * 300_000
    result = sandbox.run(f"X='{payload}'; echo ${{#X}}", 60)
    assert result.output == "300000\n"


def test_timeout_kills_the_command_tree_and_the_shell_stays(sandbox):
    sandbox.run("MARK=kept; cd /tmp", 10)
    result = sandbox.run("sleep 300 & sleep 301 & echo started; sleep 302", 5)
    assert result.timed_out and result.exit_code is None
    assert "started" in result.output
    assert not result.restarted
    after = sandbox.run("echo $MARK; pwd; ps -eo args | grep -c '^sleep 30[0-9]' || true", 10)
    assert after.output == "kept\n/tmp\n0\n"


def test_timeout_interrupts_a_busy_builtin_loop(sandbox):
    sandbox.run("MARK=kept", 10)
    result = sandbox.run("while :; do :; done", 1)
    assert result.timed_out
    assert sandbox.run("echo $MARK", 10).output == "kept\n"


@pytest.mark.parametrize("line", [  # each would take 60 s: far beyond the 1 s timeout
    "sleep 60; echo finished",
    "for i in $(seq 60); do sleep 1; done; echo finished",
    "(sleep 60); echo finished",
    "sleep 60 | cat; echo finished",
    "python3 -c 'import time\ntry: time.sleep(60)\nexcept KeyboardInterrupt: time.sleep(60)'; "
    "echo finished",
    "trap 'echo trapped' INT; sleep 60; echo finished",
])
def test_timeout_abandons_the_rest_of_the_command_line(sandbox, line):
    sandbox.run("MARK=kept; cd /tmp", 10)
    result = sandbox.run(line, 1)
    assert result.timed_out and result.exit_code is None
    assert "finished" not in result.output
    assert not result.restarted
    after = sandbox.run("echo $MARK; pwd", 10)
    assert after.output == "kept\n/tmp\n"  # nothing of the old line ran late, either


def test_a_shell_that_keeps_ignoring_the_timeout_is_replaced(sandbox):
    sandbox.run("MARK=lost", 10)
    result = sandbox.run("trap '' USR1 INT; while :; do :; done; echo finished", 1)
    assert result.timed_out and result.restarted
    assert "finished" not in result.output
    assert sandbox.run("echo [$MARK]", 10).output == "[]\n"


def test_timeout_kills_a_process_that_ignores_sigint(sandbox):
    program = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(300)"
    result = sandbox.run(f'python3 -c "{program}"', 1)
    assert result.timed_out
    assert sandbox.run("ps -eo args | grep -c '^python3 -c' || true", 10).output == "0\n"


def test_a_shell_that_exits_is_restarted(sandbox):
    sandbox.run("MARK=lost", 10)
    result = sandbox.run("exit 3", 10)
    assert result.restarted
    after = sandbox.run("echo [$MARK]; pwd", 10)
    assert not after.restarted
    assert after.output == f"[]\n{sandbox.path_for(sandbox.config.workspace_target)}\n"


def test_a_killed_shell_is_restarted_even_with_background_jobs_holding_its_output(sandbox):
    sandbox.run("sleep 300 &", 10)
    result = sandbox.run("kill -9 $$", 10)
    assert result.restarted
    assert sandbox.run("echo fine", 10).output == "fine\n"


def test_background_output_appears_with_the_next_command(sandbox):
    sandbox.run("(sleep 0.3; echo from-background; touch background.done) &", 10)
    flag = sandbox.config.workspace / "background.done"  # written after the echo
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox.run("echo now", 10).output.endswith("from-background\nnow\n")


def test_close_leaves_no_shell_process(make_sandbox):
    sandbox = make_sandbox("local")
    pid = int(sandbox.run("echo $$", 10).output)
    assert procs.read(pid) is not None  # the shell, alive until close
    sandbox.close()
    assert procs.wait_gone([pid], timeout=30)
