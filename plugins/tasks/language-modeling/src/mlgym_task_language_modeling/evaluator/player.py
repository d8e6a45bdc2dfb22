"""The player of the language-modeling task: the agent's model behind two calls.

Started by MLGym in a sandbox of its own (the workspace read-only, no hidden data, no network, a
fresh ``/tmp``), apart from ``evaluate.py``, the referee, which computes the loss from what this
process returns and trusts none of it (``mlgym_player.py`` has the protocol):

    load(max_parameters)  imports model.py from the workspace and calls
                          load_model("checkpoint"); refuses a model with more parameters
                          than max_parameters; returns {"parameters": n}
    logits(tokens)        tokens: an array of int64 (windows, time); returns the model's raw
                          outputs, an array (windows, time, vocabulary) of float16 (float32
                          when a value does not fit float16)

The referee applies log-softmax itself, so the outputs need not be normalised.
"""

import os

import mlgym_player
import numpy as np
import torch

VOCAB_SIZE = 50257
FLOAT16_MAX = 65504.0
model = None


def load(max_parameters):
    global model
    torch.set_grad_enabled(False)
    workspace = os.environ.get("MLGYM_WORKSPACE", ".")
    load_model = mlgym_player.workspace_function("model.py", "load_model")
    model = load_model(os.path.join(workspace, "checkpoint"))
    if isinstance(model, torch.nn.Module):
        model = model.to(device()).eval()
        parameters = sum(p.numel() for p in model.parameters())
    else:
        parameters = 0  # a plain callable: nothing to count
    if parameters > max_parameters:
        raise ValueError(f"the model has {parameters:,} parameters; this task allows at most "
                         f"{max_parameters:,}")
    return {"parameters": parameters}


def device():
    return "cuda" if torch.cuda.is_available() else "cpu"


def logits(tokens):
    if model is None:
        raise RuntimeError("load was not called")
    windows = mlgym_player.decode_array(tokens, dtype="i", shape=(None, None), what="tokens")
    out = model(torch.from_numpy(windows.astype(np.int64)).to(device()))
    if isinstance(out, tuple):  # a model that returns (logits, loss) or similar
        out = out[0]
    out = torch.as_tensor(out).detach().float().cpu()
    if tuple(out.shape) != (*windows.shape, VOCAB_SIZE):
        raise ValueError(f"the model returned a tensor of shape {tuple(out.shape)}, not "
                         f"(windows, time, {VOCAB_SIZE}) = {(*windows.shape, VOCAB_SIZE)}")
    finite = torch.isfinite(out)
    if finite.all() and out.abs().max() < FLOAT16_MAX:
        out = out.half()  # half the bytes to send; the referee works in float32
    return mlgym_player.encode_array(out.numpy())


if __name__ == "__main__":
    mlgym_player.serve({"load": load, "logits": logits})
