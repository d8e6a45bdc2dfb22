"""The embedded model's weights between llama.cpp's GGUF file and a trainable transformers model.

``load_model`` reads the GGUF file that the embedded server serves (transformers dequantizes its
tensors); ``write_gguf`` writes a trained model back as a GGUF file the same server loads: every
metadata field of the original (tokenizer, chat template, hyperparameters) is copied, and the
tensors are written in 16-bit floats (norms in 32-bit) under llama.cpp's names.

llama.cpp stores the query and key projections with their rows reordered for its rotary
embedding; transformers undoes that when it loads a GGUF file, so :func:`_to_gguf_order` redoes
it. :func:`check_layout` proves the mapping on the original file: the tensors mapped back from the
loaded model must match the file's own, dequantized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# transformers' parameter names (Llama) -> llama.cpp's tensor names
_LAYER_NAMES = {
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_F16 = 1  # llama.cpp's file type "mostly F16"


def load_model(gguf_file: str | Path):
    """The model and tokenizer in a GGUF file, as a plain float32 transformers model.

    transformers dequantizes the tensors but keeps the model marked as quantized, which its
    Trainer refuses to train; the weights are moved into a model built from the bare config.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_file = Path(gguf_file)
    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name,
                                                  dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    return model, tokenizer


def gguf_name(hf_name: str) -> str | None:
    """llama.cpp's name for a transformers parameter; None for one the file does not hold."""
    if hf_name == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf_name == "model.norm.weight":
        return "output_norm.weight"
    if hf_name == "lm_head.weight":
        return None  # tied to the embeddings
    parts = hf_name.split(".")  # model.layers.<i>.<module...>.weight
    if parts[:2] == ["model", "layers"]:
        module = ".".join(parts[3:-1])
        if module in _LAYER_NAMES:
            return f"blk.{parts[2]}.{_LAYER_NAMES[module]}.{parts[-1]}"
    raise ValueError(f"no GGUF name known for parameter {hf_name}")


def _to_gguf_order(weight: np.ndarray, heads: int) -> np.ndarray:
    """Reorder the rows of a query/key projection as llama.cpp's rotary embedding expects."""
    rows = weight.shape[0]
    return (weight.reshape(heads, 2, rows // heads // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def gguf_tensors(model) -> dict[str, np.ndarray]:
    """The model's parameters as llama.cpp names and orders them (float32 arrays)."""
    config = model.config
    out = {}
    for name, tensor in model.state_dict().items():
        target = gguf_name(name)
        if target is None:
            continue
        array = tensor.detach().to("cpu").float().numpy()
        if target.endswith("attn_q.weight"):
            array = _to_gguf_order(array, config.num_attention_heads)
        elif target.endswith("attn_k.weight"):
            array = _to_gguf_order(array, config.num_key_value_heads)
        out[target] = array
    return out


def check_layout(model, gguf_file: str | Path, tolerance: float = 1e-3) -> None:
    """Raise ValueError unless the model's tensors, mapped back, match the file it came from."""
    import gguf

    reader = gguf.GGUFReader(str(gguf_file))
    ours = gguf_tensors(model)
    theirs = {t.name: t for t in reader.tensors}
    if set(ours) != set(theirs):
        raise ValueError(f"tensor names differ: {sorted(set(ours) ^ set(theirs))[:5]}")
    for name, array in ours.items():
        stored = gguf.quants.dequantize(theirs[name].data, theirs[name].tensor_type)
        stored = np.asarray(stored, dtype=np.float32).reshape(array.shape)
        if not np.allclose(array, stored, atol=tolerance):
            raise ValueError(f"{name}: the mapped tensor differs from the file's")


def write_gguf(model, original: str | Path, out: str | Path) -> Path:
    """Write ``model`` as a GGUF file with the metadata of ``original``; returns ``out``."""
    import gguf

    reader = gguf.GGUFReader(str(original))
    architecture = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(str(out), architecture)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue  # the writer writes these itself
        value = field.contents()
        if key == "general.file_type":
            value = _F16
        kind = field.types[0]
        sub_kind = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, kind, sub_type=sub_kind)
    order = [t.name for t in reader.tensors]  # the original's order
    tensors = gguf_tensors(model)
    for name in order:
        array = tensors[name]
        array = array.astype(np.float32 if array.ndim == 1 else np.float16)
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Path(out)
