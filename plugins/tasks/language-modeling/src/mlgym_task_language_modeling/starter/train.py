"""Train the GPT-2 style model of model.py on data/train*.bin and save it to checkpoint/.

    python train.py                  # the CPU configuration below (minutes on 2 cores)
    CONFIG=paper python train.py     # the paper's: 12 layers, 6 heads, 768 wide, 500 iterations

The data are modded-nanogpt token shards (a 1,024-byte header, then uint16 GPT-2 token ids).
Training samples random windows of BLOCK_SIZE + 1 tokens; the loss is next-token cross-entropy.
At the end it prints the loss on data/val.bin (the dev split) the way the evaluator computes it,
and saves checkpoint/model.pt and checkpoint/config.json, which the evaluator loads through
model.py's load_model.
"""

import glob
import math
import os
import time

import numpy as np
import torch

from model import GPT, GPTConfig, save_model

CONFIGS = {
    # small enough to train on 2 CPU cores within the task's training time limit
    "cpu": dict(n_layer=2, n_head=4, n_embd=64, block_size=128, batch_size=8,
                iterations=300, learning_rate=3e-3, warmup=30, weight_decay=0.1),
    # the paper's model and schedule (a GPU: about 250M tokens in all)
    "paper": dict(n_layer=12, n_head=6, n_embd=768, block_size=1024, batch_size=512,
                  iterations=500, learning_rate=6e-4, warmup=50, weight_decay=0.1),
}
CONFIG = os.environ.get("CONFIG", "cpu")
ITERATIONS = int(os.environ.get("ITERATIONS", CONFIGS[CONFIG]["iterations"]))
LEARNING_RATE = CONFIGS[CONFIG]["learning_rate"]
SEED = 0
DATA = "data"
CHECKPOINT = "checkpoint"


def read_tokens(path):
    header = np.fromfile(path, dtype="<i4", count=256)
    assert header[0] == 20240520 and header[1] == 1, f"{path} is not a token shard"
    return np.memmap(path, dtype="<u2", mode="r", offset=1024, shape=(int(header[2]),))


def batches(tokens, batch_size, block_size, generator):
    """Random windows: inputs (B, T) and the next tokens as targets (B, T)."""
    while True:
        starts = generator.integers(0, len(tokens) - block_size - 1, size=batch_size)
        window = np.stack([tokens[s:s + block_size + 1] for s in starts]).astype(np.int64)
        yield torch.from_numpy(window[:, :-1]), torch.from_numpy(window[:, 1:])


def learning_rate(step, settings):
    """Linear warm-up, then cosine decay to a tenth."""
    if step < settings["warmup"]:
        return LEARNING_RATE * (step + 1) / settings["warmup"]
    progress = (step - settings["warmup"]) / max(1, ITERATIONS - settings["warmup"])
    return LEARNING_RATE * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def dev_loss(model, tokens, block_size, windows=16):
    """Mean next-token loss over ``windows`` evenly spaced windows of the dev split."""
    model.eval()
    starts = np.linspace(0, len(tokens) - block_size - 1, windows).astype(int)
    window = torch.from_numpy(np.stack([tokens[s:s + block_size + 1] for s in starts])
                              .astype(np.int64))
    _, loss = model(window[:, :-1], window[:, 1:])
    model.train()
    return loss.item()


def main():
    settings = CONFIGS[CONFIG]
    torch.manual_seed(SEED)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    train = np.concatenate([read_tokens(p) for p in sorted(glob.glob(f"{DATA}/train*.bin"))])
    dev = read_tokens(f"{DATA}/val.bin")
    config = GPTConfig(n_layer=settings["n_layer"], n_head=settings["n_head"],
                       n_embd=settings["n_embd"], block_size=settings["block_size"])
    model = GPT(config).to(device)
    print(f"config {CONFIG}: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{len(train):,} training tokens, {ITERATIONS} iterations on {device}", flush=True)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": settings["weight_decay"]},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=LEARNING_RATE, betas=(0.9, 0.95))
    data = batches(train, settings["batch_size"], config.block_size,
                   np.random.default_rng(SEED))
    start = time.time()
    for step in range(ITERATIONS):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, settings)
        x, y = next(data)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            _, loss = model(x.to(device), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 50 == 0 or step == ITERATIONS - 1:
            seen = (step + 1) * settings["batch_size"] * config.block_size
            print(f"step {step:5d}  loss {loss.item():.4f}  "
                  f"{seen / (time.time() - start):,.0f} tokens/s", flush=True)
    save_model(model.cpu(), CHECKPOINT)
    print(f"dev loss {dev_loss(model, dev, config.block_size):.4f}; "
          f"saved {CHECKPOINT}/ after {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
