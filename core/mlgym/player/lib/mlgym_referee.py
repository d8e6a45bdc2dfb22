"""The referee's half of MLGym's player protocol: call the agent's code, trust none of it.

An evaluator (the *referee*) whose task declares a ``player`` in ``task.yaml`` never imports the
agent's code. It asks MLGym for a player, a fresh process in a sandbox of its own, and sends it
calls, many at a time::

    import mlgym_referee as referee

    with referee.connect(local=[sys.executable, "player.py"]) as player:
        player.call("load")
        moves = player.call("move", [[history] for history in histories], seed=1234)
        for move in moves:
            referee.check_int(move, 0, 1, what="row_strategy's move")

Every :func:`connect` is a new player: nothing (no file, no process, no memory) survives from one
to the next. Under MLGym, ``MLGYM_PLAYER_SOCKET`` names where to connect; run by hand, without
it, ``local`` is started as a plain subprocess that isolates nothing (a note on stderr says so).

What comes back is decoded JSON: plain ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``
and ``None``, never an object with behaviour; NaN and infinities are refused. A crash, a hang, a
malformed answer or an error raised by the agent's code is a :class:`PlayerError` naming the
call; :func:`fail` reports it the way MLGym shows failed evaluations (``docs/CONTRACTS.md``).
Arrays (observations, actions, logits) travel as :func:`encode_array` objects and come back
through :func:`decode_array`, which checks them. This file needs only the standard library and
``mlgym_arrays.py`` beside it (numpy only when arrays are used), so it can be copied into any
task's evaluator folder.
"""

import json
import os
import socket
import subprocess
import sys

import mlgym_arrays

PROTOCOL = "mlgym-player/1"
MESSAGE_LIMIT = 256 << 20  # bytes in one answer
DEFAULT_CALL_TIMEOUT = 60.0
KINDS = ("raised", "timeout", "exited", "invalid")


class PlayerError(Exception):
    """A call of the agent's code failed.

    ``call`` is the call's name; ``kind`` one of ``raised`` (the agent's code raised), ``timeout``
    (no answer in time), ``exited`` (the player ended without answering) and ``invalid`` (an
    answer that breaks the rules); ``error_type`` the exception's class name when it raised;
    ``detail`` what the player said (its traceback), for the agent's eyes on the dev split only;
    ``index`` the element of the batch that raised, when known.
    """

    def __init__(self, call, kind, message, error_type="", detail="", index=None):
        super().__init__(message)
        self.call, self.kind, self.error_type, self.detail = call, kind, error_type, detail
        self.index = index  # the batch element that raised, when known

    def report(self):
        """The fixed-form failure line MLGym reads (only names, no data)."""
        return {"failed": {"call": self.call, "kind": self.kind, "type": self.error_type}}


def _refuse_constant(name):
    raise ValueError(f"{name} is not a finite number")


class Player:
    """A connection to one fresh player; close it (or use ``with``) to end the player."""

    def __init__(self, sock, process=None, call_timeout=None):
        self._sock = sock
        self._process = process
        self._buffer = bytearray()
        self._next_id = 0
        self._pending = []  # (id, call, batch size) of calls sent and not yet received
        if call_timeout is None:
            call_timeout = float(os.environ.get("MLGYM_PLAYER_CALL_TIMEOUT",
                                                DEFAULT_CALL_TIMEOUT))
        self.call_timeout = call_timeout

    def call(self, name, batch=None, *, seed=None, timeout=None):
        """Call ``name`` once per element of ``batch`` (each a list of positional arguments;
        default: one call without arguments) and return the list of results, in order.

        ``seed`` (an int or a str) seeds the player's ``random`` before the batch. ``timeout``
        (seconds, default ``call_timeout``) bounds the whole batch. Raises :class:`PlayerError`.
        """
        self.send(name, batch, seed=seed)
        return self.receive(timeout=timeout)

    def send(self, name, batch=None, *, seed=None):
        """Send a call without waiting for its answer (:meth:`receive` gets the answers in the
        order the calls were sent), so that the referee can work while the player does."""
        batch = [[]] if batch is None else batch
        self._next_id += 1
        request = {"id": self._next_id, "call": name, "batch": batch}
        if seed is not None:
            request["seed"] = seed
        self._pending.append((self._next_id, name, len(batch)))
        data = json.dumps(request, separators=(",", ":")).encode() + b"\n"
        try:
            self._sock.settimeout(self.call_timeout)
            self._sock.sendall(data)
        except TimeoutError:
            raise PlayerError(name, "timeout", f"{name} was not read within "
                              f"{self.call_timeout:g} s") from None
        except OSError as exc:
            raise PlayerError(name, "exited", f"the player ended before {name} ({exc})"
                              ) from None

    def receive(self, *, timeout=None):
        """The results of the oldest call not yet received; raises :class:`PlayerError`."""
        ident, name, expected = self._pending.pop(0)
        limit = self.call_timeout if timeout is None else timeout
        try:
            self._sock.settimeout(limit)
            line = self._read_line(name)
        except TimeoutError:
            raise PlayerError(name, "timeout", f"{name} gave no answer within {limit:g} s"
                              ) from None
        except OSError as exc:
            raise PlayerError(name, "exited", f"the player ended during {name} ({exc})") from None
        return self._results(name, line, ident, expected)

    def _read_line(self, name):
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[:end + 1]
                return line
            if len(self._buffer) > MESSAGE_LIMIT:
                raise PlayerError(name, "invalid", f"the answer to {name} exceeds "
                                  f"{MESSAGE_LIMIT >> 20} MiB")
            chunk = self._sock.recv(1 << 20)
            if not chunk:
                raise PlayerError(name, "exited", f"the player ended without answering {name}")
            self._buffer += chunk

    def _results(self, name, line, ident, expected):
        try:
            reply = json.loads(line, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise PlayerError(name, "invalid", f"the answer to {name} is not valid JSON"
                              ) from None
        if not isinstance(reply, dict) or reply.get("id") != ident:
            raise PlayerError(name, "invalid", f"the answer to {name} is not a reply to it")
        error = reply.get("error")
        if error is not None:
            error = error if isinstance(error, dict) else {}
            kind_name = error.get("type")
            kind_name = kind_name if isinstance(kind_name, str) else "Exception"
            index = error.get("index")
            where = f" (element {index} of the batch)" if type(index) is int else ""
            message = str(error.get("message", ""))[:2000]
            raise PlayerError(name, "raised", f"{name} raised {kind_name[:100]}: {message}{where}",
                              error_type=kind_name[:100], detail=str(error.get("traceback", "")),
                              index=index if type(index) is int else None)
        results = reply.get("results")
        if not isinstance(results, list) or len(results) != expected:
            raise PlayerError(name, "invalid", f"the answer to {name} does not hold {expected} "
                              "results")
        return results

    def close(self):
        """End the player (MLGym then removes its sandbox)."""
        try:
            self._sock.close()
        finally:
            if self._process is not None:
                self._process.kill()
                self._process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(local=None, *, call_timeout=None):
    """A fresh player: through MLGym when ``MLGYM_PLAYER_SOCKET`` is set, else the command
    ``local`` started here as a subprocess (for runs by hand; it isolates nothing)."""
    path = os.environ.get("MLGYM_PLAYER_SOCKET")
    if path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError as exc:
            raise PlayerError("connect", "exited", f"no player could be started ({exc})"
                              ) from None
        return Player(sock, call_timeout=call_timeout)
    if not local:
        raise PlayerError("connect", "exited", "MLGYM_PLAYER_SOCKET is unset and no local "
                          "player command was given")
    ours, theirs = socket.socketpair()
    print("note: MLGYM_PLAYER_SOCKET is unset: the player runs here, unisolated",
          file=sys.stderr)
    env = {key: value for key, value in os.environ.items()
           if key not in ("MLGYM_HIDDEN_DIR", "MLGYM_DATA_DIR", "MLGYM_PLAYER_SOCKET")}
    env.update({"MLGYM_PLAYER_FD": str(theirs.fileno()), "PYTHONDONTWRITEBYTECODE": "1"})
    process = subprocess.Popen(local, env=env, pass_fds=(theirs.fileno(),),
                               stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno())
    theirs.close()
    return Player(ours, process, call_timeout=call_timeout)


def fail(error, where=""):
    """Report a failed evaluation as MLGym reads it and return the exit code (1).

    ``error`` is a :class:`PlayerError` or a message. The message (with ``where`` appended, and
    the player's traceback) goes to stderr, which the agent sees on the dev split only; a
    :class:`PlayerError` also writes its fixed-form line, which is all the agent sees on test.
    """
    message = f"{error}{' ' + where if where else ''}"
    if isinstance(error, PlayerError) and error.detail:
        print(error.detail.rstrip(), file=sys.stderr)
    print(f"evaluation failed: {message}", file=sys.stderr)
    if isinstance(error, PlayerError):
        print(json.dumps(error.report()), flush=True)
    return 1


def check_int(value, low=None, high=None, *, call="", what="the value"):
    """``value`` if it is a plain int (not a bool) within [low, high], else PlayerError."""
    if type(value) is not int or (low is not None and value < low) or (
            high is not None and value > high):
        bounds = f" in [{low}, {high}]" if low is not None or high is not None else ""
        raise PlayerError(call, "invalid", f"{what} must be an integer{bounds}, not "
                          f"{short(value)}")
    return value


def check_bool(value, *, call="", what="the value"):
    """``value`` if it is a bool, else PlayerError."""
    if type(value) is not bool:
        raise PlayerError(call, "invalid", f"{what} must be true or false, not {short(value)}")
    return value


def check_list(value, length=None, *, call="", what="the value"):
    """``value`` if it is a list (of ``length`` items when given), else PlayerError."""
    if type(value) is not list or (length is not None and len(value) != length):
        size = f" of {length} items" if length is not None else ""
        raise PlayerError(call, "invalid", f"{what} must be a list{size}, not {short(value)}")
    return value


def encode_array(array):
    """``array`` (numpy-like) as the JSON-able object the protocol sends (``mlgym_arrays``)."""
    return mlgym_arrays.encode(array)


def decode_array(value, *, dtype=None, shape=None, finite=False, call="", what="the array"):
    """The numpy array a player sent, checked (``mlgym_arrays.decode``: form, ``dtype``, ``shape``
    with ``None`` for any size, ``finite``); a :class:`PlayerError` of kind ``invalid`` if not."""
    try:
        return mlgym_arrays.decode(value, dtype=dtype, shape=shape, finite=finite, what=what)
    except ValueError as exc:
        raise PlayerError(call, "invalid", str(exc)) from None


def short(value):
    """``repr(value)``, cut to 80 characters (for messages)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
