"""The player protocol's two halves, run as a task runs them by hand: the referee (imported here)
starts the player program as a local subprocess and calls it; every failure of the agent's code
is a PlayerError of the right kind."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from mlgym.episode.evaluation import failure_summary
from mlgym.player import library_files


def _load_referee():
    sys.path.insert(0, str(library_files()["mlgym_arrays.py"].parent))  # as in a task's folder
    spec = importlib.util.spec_from_file_location("mlgym_referee_under_test",
                                                  library_files()["mlgym_referee.py"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


referee = _load_referee()

HANDLERS = """\
import os, random, sys, time
import mlgym_player

def double(x):
    return 2 * x

def rand():
    return random.random()

def fails_at(i, at):
    if i == at:
        raise ValueError(f"element {i} is bad")
    return i

def hang():
    time.sleep(600)

def crash():
    os._exit(3)

def chatty(x):
    print("the agent's code prints", x)
    return x

class Opaque:
    pass

def scaled(array, factor):  # an array in, an array out
    return mlgym_player.encode_array(mlgym_player.decode_array(array) * factor)

def bad_array(which):
    import base64
    good = mlgym_player.encode_array([1.0, 2.0])
    bad = {"nan": mlgym_player.encode_array([1.0, float("nan")]),
           "ints": mlgym_player.encode_array([1, 2]),
           "long": mlgym_player.encode_array([1.0, 2.0, 3.0]),
           "short_data": {**good, "data": base64.b64encode(b"1234").decode()},
           "not_base64": {**good, "data": "@@@@"},
           "bool_size": {**good, "shape": [True, 1]},
           "extra_key": {**good, "pickle": "x"},
           "big_endian": {**good, "dtype": ">f8"},
           "list": [1.0, 2.0]}
    return bad[which]

mlgym_player.serve({
    "double": double, "rand": rand, "fails_at": fails_at, "hang": hang, "crash": crash,
    "chatty": chatty, "hello": lambda: "hi", "opaque": lambda: Opaque(),
    "nan": lambda: float("nan"), "a_set": lambda: {1, 2},
    "scaled": scaled, "bad_array": bad_array,
})
"""

# a player that ignores mlgym_player: it answers every request with ``REPLY``, ID replaced
RAW_PLAYER = """\
import json, os, sys
fd = int(os.environ["MLGYM_PLAYER_FD"])
reader, writer = os.fdopen(fd, "rb"), os.fdopen(os.dup(fd), "wb")
for line in reader:
    ident = json.loads(line)["id"]
    writer.write(sys.argv[1].replace("ID", str(ident)).encode() + b"\\n")
    writer.flush()
"""


@pytest.fixture(autouse=True)
def _no_socket(monkeypatch):
    monkeypatch.delenv("MLGYM_PLAYER_SOCKET", raising=False)
    monkeypatch.delenv("MLGYM_PLAYER_CALL_TIMEOUT", raising=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A task's evaluator folder: the two halves and the player programs."""
    for name, path in library_files().items():
        shutil.copyfile(path, tmp_path / name)
    (tmp_path / "player.py").write_text(HANDLERS)
    (tmp_path / "raw_player.py").write_text(RAW_PLAYER)
    return tmp_path


@pytest.fixture
def connect(folder):
    """``connect(call_timeout=...)`` -> a player of ``player.py``, closed at the end."""
    opened = []

    def make(program: str = "player.py", *args: str, call_timeout: float = 20.0):
        player = referee.connect(local=[sys.executable, str(folder / program), *args],
                                 call_timeout=call_timeout)
        opened.append(player)
        return player

    yield make
    for player in opened:
        player.close()


# -- calls that work ----------------------------------------------------------------------------


def test_results_come_back_in_order(connect):
    player = connect()
    assert player.call("double", [[i] for i in range(100)]) == [2 * i for i in range(100)]
    assert player.call("hello") == ["hi"]  # no batch: one call without arguments
    assert player.call("double", []) == []


def test_send_and_receive_pipeline_calls(connect):
    player = connect()
    player.send("double", [[1], [2]])
    player.send("hello")
    player.send("double", [[10]])
    assert player.receive() == [2, 4]
    assert player.receive() == ["hi"]
    assert player.receive() == [20]


def test_seed_makes_random_deterministic_across_players(connect):
    first, second = connect(), connect()
    draws = first.call("rand", [[]] * 5, seed=1234)
    assert len(set(draws)) == 5
    assert second.call("rand", [[]] * 5, seed=1234) == draws
    assert first.call("rand", [[]] * 5, seed="other") != draws


def test_prints_of_the_agents_code_do_not_reach_the_channel(connect):
    assert connect().call("chatty", [["a"], ["b"]]) == ["a", "b"]


# -- calls that fail ----------------------------------------------------------------------------


def test_an_exception_of_the_agents_code_is_raised_with_type_and_index(connect):
    player = connect()
    with pytest.raises(referee.PlayerError) as info:
        player.call("fails_at", [[i, 2] for i in range(5)])
    error = info.value
    assert (error.call, error.kind, error.error_type, error.index) == \
        ("fails_at", "raised", "ValueError", 2)
    assert "element 2 is bad" in str(error) and "element 2 of the batch" in str(error)
    assert "Traceback" in error.detail and "fails_at" in error.detail
    assert player.call("double", [[4]]) == [8]  # the player goes on serving


def test_an_unknown_call_is_raised_as_lookup_error(connect):
    with pytest.raises(referee.PlayerError) as info:
        connect().call("no_such_call")
    assert info.value.kind == "raised" and info.value.error_type == "LookupError"


def test_a_hang_is_a_timeout_within_the_call_timeout(connect):
    player = connect(call_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(referee.PlayerError) as info:
        player.call("hang")
    assert info.value.kind == "timeout" and info.value.call == "hang"
    assert time.monotonic() - started < 300  # the player hangs for 600 s
    with pytest.raises(referee.PlayerError) as info:  # a per-call timeout overrides it
        connect().call("hang", timeout=0.3)
    assert info.value.kind == "timeout"


def test_a_player_that_exits_is_exited(connect):
    player = connect()
    with pytest.raises(referee.PlayerError) as info:
        player.call("crash")
    assert info.value.kind == "exited" and info.value.call == "crash"
    with pytest.raises(referee.PlayerError) as info:  # and it stays gone
        player.call("hello")
    assert info.value.kind == "exited"


@pytest.mark.parametrize("reply", [
    "this is not json",
    '{"id": ID, "results": [NaN]}',
    '{"id": ID, "results": [Infinity]}',
    '{"id": 999, "results": [1]}',
    '{"id": ID, "results": [1, 2]}',
    '{"id": ID, "results": 1}',
    '{"id": ID}',
    '[ID, 1]',
    "[" * 100000,
], ids=["garbage", "nan", "infinity", "wrong-id", "wrong-length", "not-a-list", "no-results",
        "not-an-object", "deep-nesting"])
def test_a_reply_that_breaks_the_rules_is_invalid(connect, reply):
    with pytest.raises(referee.PlayerError) as info:
        connect("raw_player.py", reply).call("move", [[0]])
    assert info.value.kind == "invalid" and info.value.call == "move"


@pytest.mark.parametrize("call", ["opaque", "nan", "a_set"])
def test_a_result_that_is_not_plain_json_is_an_error(connect, call):
    player = connect()
    with pytest.raises(referee.PlayerError) as info:
        player.call(call)
    assert info.value.kind == "raised" and info.value.error_type == "TypeError"
    assert player.call("hello") == ["hi"]


def test_connect_without_socket_or_command_fails():
    with pytest.raises(referee.PlayerError) as info:
        referee.connect()
    assert info.value.kind == "exited" and info.value.call == "connect"


# -- reporting and checking -----------------------------------------------------------------------


def test_fail_prints_the_fixed_form_on_stdout_and_details_on_stderr(capsys):
    error = referee.PlayerError("move", "raised", "move raised KeyError: 'secret'",
                                error_type="KeyError", detail="Traceback: the hidden details")
    assert referee.fail(error, "in game 3") == 1
    out, err = capsys.readouterr()
    assert json.loads(out.strip()) == {"failed": {"call": "move", "kind": "raised",
                                                  "type": "KeyError"}}
    assert "secret" not in out and "game 3" not in out
    assert "Traceback: the hidden details" in err and "in game 3" in err
    assert failure_summary(out) == "the call `move` of your code raised KeyError"
    assert referee.fail("the starter file is missing") == 1
    out, err = capsys.readouterr()
    assert out == "" and "the starter file is missing" in err


@pytest.mark.parametrize("check, value, kwargs", [
    (referee.check_int, True, {}),
    (referee.check_int, 1.0, {}),
    (referee.check_int, "1", {}),
    (referee.check_int, 3, {"low": 0, "high": 2}),
    (referee.check_int, -1, {"low": 0}),
    (referee.check_bool, 1, {}),
    (referee.check_bool, None, {}),
    (referee.check_list, (1, 2), {}),
    (referee.check_list, [1, 2], {"length": 3}),
    (referee.check_list, "ab", {}),
])
def test_checks_reject(check, value, kwargs):
    with pytest.raises(referee.PlayerError) as info:
        check(value, call="move", what="the move", **kwargs)
    assert info.value.kind == "invalid" and info.value.call == "move"
    assert str(info.value).startswith("the move must be")


def test_checks_pass_good_values_through():
    assert referee.check_int(2, 0, 2) == 2
    assert referee.check_int(-5) == -5
    assert referee.check_bool(False) is False
    assert referee.check_list([1, [2]], 2) == [1, [2]]
    assert len(referee.short("x" * 500)) == 80


# -- arrays ---------------------------------------------------------------------------------------


def test_arrays_travel_both_ways_with_dtype_and_shape(connect):
    import numpy

    player = connect()
    observations = numpy.arange(24, dtype=numpy.float32).reshape(2, 3, 4)
    masks = numpy.array([[True, False], [False, True]])
    results = player.call("scaled", [[referee.encode_array(observations), 2],
                                     [referee.encode_array(masks), 3]])
    doubled = referee.decode_array(results[0], dtype="f", shape=(2, None, 4), finite=True)
    assert doubled.dtype == numpy.float32 and doubled.tolist() == (observations * 2).tolist()
    tripled = referee.decode_array(results[1], dtype="iu")  # bool * 3 is an int array
    assert tripled.tolist() == [[3, 0], [0, 3]]


@pytest.mark.parametrize("which, message", [
    ("nan", "holds NaN or infinite values"),
    ("ints", "must hold floats"),
    ("long", "must have shape (2)"),
    ("short_data", "holds 4 bytes, not the 16"),
    ("not_base64", "not base64"),
    ("bool_size", "malformed shape"),
    ("extra_key", "must be an array made with encode_array"),
    ("big_endian", "unknown dtype"),
    ("list", "must be an array made with encode_array"),
])
def test_a_malformed_array_is_an_invalid_answer(connect, which, message):
    value = connect().call("bad_array", [[which]])[0]
    with pytest.raises(referee.PlayerError) as info:
        referee.decode_array(value, dtype="f", shape=(2,), finite=True, call="act",
                             what="the actions")
    assert info.value.kind == "invalid" and info.value.call == "act"
    assert str(info.value).startswith("the actions") and message in str(info.value)
