"""The player's half of MLGym's player protocol: load the agent's code and answer the referee.

A task whose evaluator must call the agent's code (a strategy, a heuristic, a policy) declares a
``player`` in ``task.yaml``. MLGym then starts that code in a sandbox of its own, apart from the
evaluator (the *referee*): the workspace read-only, no hidden data, no network, a fresh ``/tmp``.
The task's player program is a few lines on top of this module::

    import mlgym_player

    def load():
        global strategy
        strategy = mlgym_player.workspace_function("strategy.py", "row_strategy")

    def move(history):
        return strategy([tuple(map(mlgym_player.frozen, pair)) for pair in history])

    mlgym_player.serve({"load": load, "move": move})

The protocol is newline-delimited JSON over one stream (``docs/CONTRACTS.md``). The referee sends
``{"id": n, "call": NAME, "batch": [ARGS, ...], "seed": S}``; the player calls the handler NAME
once per ``ARGS`` (a list of positional arguments), in order, and answers
``{"id": n, "results": [...]}``, or ``{"id": n, "error": {...}}`` naming the first element that
raised. When the request carries a ``seed``, Python's ``random`` (and numpy's, when the agent's
code has imported numpy) is seeded with it before the batch. What the agent's code prints goes
to stderr; only this module writes to the channel.

Arrays travel as :func:`encode_array` objects (``mlgym_arrays.py``). Nothing here is trusted by
the referee: it checks every value it gets back. This file needs only the standard library and
``mlgym_arrays.py`` beside it, so it can be copied into any task's evaluator folder.
"""

import hashlib
import importlib.util
import json
import os
import random
import socket
import sys
import traceback

import mlgym_arrays

PROTOCOL = "mlgym-player/1"
MESSAGE_LIMIT = 256 << 20  # bytes in one request


def frozen(value):
    """``value`` with every list turned into a tuple, recursively (JSON has no tuples)."""
    if isinstance(value, list):
        return tuple(frozen(item) for item in value)
    return value


def encode_array(array):
    """``array`` (numpy, JAX, a CPU torch tensor) as the JSON-able object the protocol sends."""
    return mlgym_arrays.encode(array)


def decode_array(value, *, dtype=None, shape=None, finite=False, what="the array"):
    """The numpy array the referee sent (``mlgym_arrays.decode``); ValueError if malformed."""
    return mlgym_arrays.decode(value, dtype=dtype, shape=shape, finite=finite, what=what)


def workspace_module(filename, name=None):
    """Import ``filename`` from the agent's workspace (``MLGYM_WORKSPACE``) as a module.

    The workspace goes on ``sys.path`` (after this folder) so the file may import its own modules.
    """
    workspace = os.environ.get("MLGYM_WORKSPACE", ".")
    if workspace not in sys.path:
        sys.path.append(workspace)
    sys.dont_write_bytecode = True  # the workspace is read-only here
    path = os.path.join(workspace, filename)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{filename} not found in the workspace")
    module_name = name or os.path.splitext(os.path.basename(filename))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def workspace_function(filename, function):
    """The callable ``function`` of the workspace's ``filename``; TypeError if there is none."""
    module = workspace_module(filename)
    found = getattr(module, function, None)
    if not callable(found):
        raise TypeError(f"{filename} defines no function {function}")
    return found


def seed_generators(seed):
    """Seed ``random`` with ``seed``, and numpy's global generator when numpy is loaded."""
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        digest = hashlib.sha256(f"{seed}:numpy".encode()).digest()
        numpy.random.seed(int.from_bytes(digest[:4], "big"))


class Channel:
    """The player's end of the stream to the referee."""

    def __init__(self, reader, writer):
        self._reader = reader
        self._writer = writer

    @classmethod
    def open(cls):
        """Connect as MLGym arranged (``MLGYM_PLAYER_SOCKET``, or ``MLGYM_PLAYER_FD`` when a
        referee started this process itself), and send stdout to stderr from here on."""
        path = os.environ.get("MLGYM_PLAYER_SOCKET")
        if path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            fd = sock.detach()
        else:
            fd = int(os.environ["MLGYM_PLAYER_FD"])
        os.dup2(2, 1)  # the agent's prints must not reach the channel
        sys.stdout = sys.stderr
        return cls(os.fdopen(fd, "rb", buffering=1 << 16, closefd=True),
                   os.fdopen(os.dup(fd), "wb", buffering=1 << 16))

    def requests(self):
        """The requests as they arrive; ends when the referee closes the stream."""
        while True:
            line = self._reader.readline(MESSAGE_LIMIT + 1)
            if not line:
                return
            if len(line) > MESSAGE_LIMIT:
                raise ValueError("a request exceeds the message limit")
            yield json.loads(line)

    def send(self, message):
        self._writer.write(json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
                           + b"\n")
        self._writer.flush()


def answer(handlers, request):
    """The reply to one request: the handler applied to each element of the batch."""
    ident, name = request.get("id"), request.get("call")
    handler = handlers.get(name)
    if handler is None:
        return {"id": ident, "error": {"index": None, "type": "LookupError",
                                       "message": f"the player has no call {name!r}"}}
    if request.get("seed") is not None:
        seed_generators(request["seed"])
    batch = request.get("batch")
    results = []
    for index, args in enumerate([[]] if batch is None else batch):  # [] asks for no call
        try:
            results.append(handler(*args))
        except BaseException as exc:  # the agent's code failed: the referee decides what it means
            return {"id": ident, "error": {
                "index": index, "type": type(exc).__name__, "message": str(exc)[:2000],
                "traceback": "".join(traceback.format_exception(exc)[-12:])[-8000:]}}
    return {"id": ident, "results": results}


def serve(handlers):
    """Answer the referee's requests with ``handlers`` (call name -> function) until it closes
    the stream, then exit. Never returns."""
    channel = Channel.open()
    for request in channel.requests():
        reply = answer(handlers, request)
        try:
            channel.send(reply)
        except (TypeError, ValueError) as exc:  # a result that is not plain JSON
            channel.send({"id": reply.get("id"), "error": {
                "index": None, "type": "TypeError",
                "message": f"a result is not a plain JSON value: {exc}"[:2000]}})
    sys.stderr.flush()
    os._exit(0)  # no atexit hook or finaliser of the agent's code runs after the last answer
