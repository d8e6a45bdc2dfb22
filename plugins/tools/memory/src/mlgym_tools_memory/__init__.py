"""MLGym tool bundle ``memory``: ``memory_write`` and ``memory_read`` backed by sentence embeddings.

The commands (``bundle/bin``) run in the sandbox and ask the memory service
(:mod:`mlgym_tools_memory.service`), which the environment starts outside the sandbox for each
episode. This distribution also provides the embedders ``minilm-int8`` (default, offline) and
``litellm`` (:mod:`mlgym_tools_memory.embedders`).
"""

from pathlib import Path

from mlgym import hookimpl
from mlgym.plugins import EmbedderSpec, ServiceSpec

BUNDLE = Path(__file__).parent / "bundle" / "bundle.yaml"


def _start(socket_path, config=None):
    from mlgym_tools_memory.service import start

    return start(socket_path, config)


def _minilm(config):
    from mlgym_tools_memory.embedders import MiniLMEmbedder

    return MiniLMEmbedder(config)


def _litellm(config):
    from mlgym_tools_memory.embedders import LiteLLMEmbedder

    return LiteLLMEmbedder(config)


@hookimpl
def mlgym_tool_bundles() -> list:
    """The ``memory`` bundle."""
    return [BUNDLE]


@hookimpl
def mlgym_tool_services() -> list:
    """The memory service."""
    return [ServiceSpec("memory", _start, "stores and retrieves memories by embedding similarity")]


@hookimpl
def mlgym_embedders() -> list:
    """The offline MiniLM embedder and the litellm embedder."""
    return [
        EmbedderSpec("minilm-int8", _minilm, "all-MiniLM-L6-v2, int8 ONNX on CPU, offline (384-d)"),
        EmbedderSpec("litellm", _litellm, "any embedding model litellm can call (option `model`)"),
    ]
