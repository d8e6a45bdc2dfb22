"""Baseline for COCO captioning: a CNN encoder and a GRU decoder, then a submission file.

Read top to bottom: data loading, vocabulary, model, training loop, writing the submission.

    python train.py                            # the baseline: writes submission.csv
    python train.py --epochs 1 --limit 2000    # a quick run on 2,000 training images

The data folder (read-only) holds Parquet tables (read with pyarrow): train.parquet and
val.parquet with columns id, image (JPEG bytes) and captions (five or more references each), and
test.parquet with id and image only (the test references are hidden).

submission.csv has the header id,caption and one row per image: every test image (scored by
`submit`) and every val image (scored on the dev split, i.e. by `validate` under the strict
protocol). The score is corpus BLEU against all references of each image.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from PIL import Image
from torch import nn

DATA = Path("data/coco-captions")
SEED = 0
EPOCHS = 5
BATCH_SIZE = 64
LEARNING_RATE = 0.002
IMAGE_SIZE = 64  # images are resized to IMAGE_SIZE x IMAGE_SIZE
EMBED, HIDDEN = 256, 512
MIN_COUNT = 5  # words seen fewer times in the training captions become <unk>
MAX_LEN = 20  # tokens per generated caption
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"


def load(split: str, limit: int | None = None) -> dict:
    """A split's columns as lists: ids, decoded images (uint8 HxWx3) and, if any, captions."""
    table = pq.read_table(DATA / f"{split}.parquet")
    if limit is not None:
        table = table.slice(0, limit)
    columns = table.to_pydict()
    columns["pixels"] = np.stack([
        np.asarray(Image.open(io.BytesIO(b)).convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE)))
        for b in columns.pop("image")])
    return columns


def tokenize(caption: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", caption.lower())


class Vocabulary:
    """Words of the training captions seen at least MIN_COUNT times, plus four special tokens."""

    def __init__(self, captions: list[list[str]]):
        counts = Counter(w for refs in captions for c in refs for w in tokenize(c))
        self.words = [PAD, START, END, UNK] + sorted(w for w, n in counts.items() if n >= MIN_COUNT)
        self.index = {w: i for i, w in enumerate(self.words)}

    def encode(self, caption: str) -> list[int]:
        unk = self.index[UNK]
        return [self.index[START]] + [self.index.get(w, unk) for w in tokenize(caption)][:MAX_LEN] \
            + [self.index[END]]

    def decode(self, tokens: list[int]) -> str:
        words = []
        for t in tokens:
            if self.words[t] == END:
                break
            if self.words[t] not in (PAD, START):
                words.append(self.words[t])
        return " ".join(words) or "a picture"


class Captioner(nn.Module):
    """Encoder: 4 conv blocks -> a vector that starts the GRU. Decoder: GRU over word embeddings."""

    def __init__(self, vocab_size: int):
        super().__init__()
        blocks = []
        for c_in, c_out in ((3, 32), (32, 64), (64, 128), (128, 256)):
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                       nn.MaxPool2d(2)]
        self.encoder = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                     nn.Linear(256, HIDDEN), nn.Tanh())  # (N, HIDDEN)
        self.embed = nn.Embedding(vocab_size, EMBED, padding_idx=0)
        self.gru = nn.GRU(EMBED, HIDDEN, batch_first=True)
        self.out = nn.Linear(HIDDEN, vocab_size)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (N, T, vocab) for tokens (N, T) given the images."""
        h = self.encoder(images).unsqueeze(0)  # (1, N, HIDDEN)
        out, _ = self.gru(self.embed(tokens), h)
        return self.out(out)

    @torch.no_grad()
    def generate(self, images: torch.Tensor, start: int) -> torch.Tensor:
        """Greedy decoding: token ids (N, MAX_LEN + 1)."""
        h = self.encoder(images).unsqueeze(0)
        token = torch.full((len(images), 1), start, dtype=torch.long, device=images.device)
        result = []
        for _ in range(MAX_LEN + 1):
            out, h = self.gru(self.embed(token), h)
            token = self.out(out).argmax(-1)
            result.append(token)
        return torch.cat(result, 1)


def as_tensor(pixels: np.ndarray) -> torch.Tensor:
    return (torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.25


def caption_all(model: Captioner, vocab: Vocabulary, pixels: np.ndarray) -> list[str]:
    model.eval()
    captions = []
    for i in range(0, len(pixels), 256):
        tokens = model.generate(as_tensor(pixels[i:i + 256]).to(DEVICE), vocab.index[START])
        captions += [vocab.decode(t) for t in tokens.tolist()]
    return captions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--limit", type=int, default=None, help="use the first LIMIT training images")
    parser.add_argument("--out", default="submission.csv")
    args = parser.parse_args()
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)

    train = load("train", args.limit)
    vocab = Vocabulary(train["captions"])
    print(f"{len(train['id'])} training images, vocabulary of {len(vocab.words)} words")
    model = Captioner(len(vocab.words)).to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss(ignore_index=0)
    images = as_tensor(train["pixels"])
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = np.random.permutation(len(images))
        for i in range(0, len(order), BATCH_SIZE):
            batch = order[i:i + BATCH_SIZE]
            # one of each image's references, drawn afresh every epoch; padded to one length
            encoded = [vocab.encode(random.choice(train["captions"][j])) for j in batch]
            tokens = torch.zeros(len(batch), max(map(len, encoded)), dtype=torch.long)
            for row, seq in enumerate(encoded):
                tokens[row, :len(seq)] = torch.tensor(seq)
            tokens = tokens.to(DEVICE)
            logits = model(images[batch].to(DEVICE), tokens[:, :-1])
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1}/{args.epochs}: last loss {loss.item():.3f}, "
              f"{time.time() - start:.0f} s", flush=True)

    with open(args.out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "caption"])
        for split in ("test", "val"):
            data = load(split)
            writer.writerows(zip(data["id"], caption_all(model, vocab, data["pixels"])))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
