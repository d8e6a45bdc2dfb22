"""Baseline for Fashion-MNIST: a two-layer CNN trained with SGD, then a submission file.

Read top to bottom: data loading, model, training loop, writing the submission.

    python train.py                      # the baseline: writes submission.csv
    python train.py --limit 2000         # a quick run on 2,000 training images

The data folder (read-only) holds the dataset's files in the original IDX format, uncompressed:
train-images-idx3-ubyte / train-labels-idx1-ubyte (60,000 labelled images) and
t10k-images-idx3-ubyte (10,000 test images, their labels are hidden).

submission.csv has the header id,label and one row per image to score:
  test-<i>   the i-th test image (every one of them is scored by `submit`)
  train-<i>  the held-out training images i = 50000..59999 (scored on the dev split, i.e. by
             `validate` under the strict protocol); this script trains on the other 50,000
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

DATA = Path("data/fashion-mnist")
SEED = 0
EPOCHS = 1
BATCH_SIZE = 64
LEARNING_RATE = 0.01
MOMENTUM = 0.9
HOLD_OUT = 50_000  # training images from this index on are kept for validation (the dev split)
THREADS = 2  # fixed, so that the result does not depend on the machine's core count
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic matrix products on GPUs


def read_idx(path: Path) -> np.ndarray:
    """An IDX file as a uint8 array: images (N, 28, 28) or labels (N,)."""
    raw = path.read_bytes()
    dims = raw[3]  # magic number: 0, 0, dtype code (8 = uint8), number of dimensions
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def as_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28), roughly zero mean and unit variance."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - 0.286) / 0.353  # mean and std of the training pixels


class Net(nn.Module):
    """conv(1->32, 3x3) -> ReLU -> maxpool -> conv(32->64, 3x3) -> ReLU -> maxpool -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (64, 7, 7)
        )
        self.classifier = nn.Linear(64 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))  # logits (N, 10)


def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + 1000].to(DEVICE)).argmax(1).cpu()
                          for i in range(0, len(x), 1000)]).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--limit", type=int, default=HOLD_OUT,
                        help="train on the first LIMIT images only (quick runs)")
    parser.add_argument("--out", default="submission.csv")
    args = parser.parse_args()

    # Seed everything and ask for deterministic kernels: the same run gives the same score.
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(THREADS)

    images = as_tensor(read_idx(DATA / "train-images-idx3-ubyte"))
    labels = torch.from_numpy(read_idx(DATA / "train-labels-idx1-ubyte").astype(np.int64))
    test = as_tensor(read_idx(DATA / "t10k-images-idx3-ubyte"))
    train_x, train_y = images[:min(args.limit, HOLD_OUT)], labels[:min(args.limit, HOLD_OUT)]
    val_x, val_y = images[HOLD_OUT:], labels[HOLD_OUT:]

    model = Net().to(DEVICE)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(SEED)
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        for i in range(0, len(order), BATCH_SIZE):
            batch = order[i:i + BATCH_SIZE]
            loss = loss_fn(model(train_x[batch].to(DEVICE)), train_y[batch].to(DEVICE))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        accuracy = (predict(model, val_x) == val_y.numpy()).mean()
        print(f"epoch {epoch + 1}/{args.epochs}: last loss {loss.item():.4f}, "
              f"validation accuracy {accuracy:.4f}, {time.time() - start:.0f} s", flush=True)

    with open(args.out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label"])
        writer.writerows((f"test-{i}", int(y)) for i, y in enumerate(predict(model, test)))
        writer.writerows((f"train-{HOLD_OUT + i}", int(y))
                         for i, y in enumerate(predict(model, val_x)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
