"""Baseline for CIFAR-10: a small CNN trained with SGD, then a submission file.

Read top to bottom: data loading, model, training loop, writing the submission.

    python train.py                           # the baseline: writes submission.csv
    python train.py --epochs 1 --limit 2000   # a quick run on 2,000 training images

The data folder (read-only) holds numpy arrays: train_images.npy uint8 (50000, 32, 32, 3),
train_labels.npy int64 (50000,) and test_images.npy uint8 (10000, 32, 32, 3); the test labels
are hidden. Classes: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse,
8 ship, 9 truck.

submission.csv has the header id,label and one row per image to score:
  test-<i>   the i-th test image (every one of them is scored by `submit`)
  train-<i>  the held-out last tenth of the training images, i = 45000..49999 (scored on the
             dev split, i.e. by `validate` under the strict protocol); this script trains on
             the other 45,000
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

DATA = Path("data/cifar10")
SEED = 0
EPOCHS = 10
BATCH_SIZE = 64
LEARNING_RATE = 0.01
MOMENTUM = 0.9
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def as_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 32, 32, 3) -> float (N, 3, 32, 32) scaled to [-1, 1]."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.5) / 0.5


class Net(nn.Module):
    """conv(3->32) -> pool -> conv(32->64) -> pool -> linear(4096->128) -> linear(128->10)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (32, 16, 16)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (64, 8, 8)
        )
        self.classifier = nn.Sequential(nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10))

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
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first LIMIT images only (quick runs)")
    parser.add_argument("--out", default="submission.csv")
    args = parser.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)

    images = as_tensor(np.load(DATA / "train_images.npy"))
    labels = torch.from_numpy(np.load(DATA / "train_labels.npy"))
    test = as_tensor(np.load(DATA / "test_images.npy"))
    hold_out = len(images) * 9 // 10  # the last tenth is kept for validation (the dev split)
    limit = hold_out if args.limit is None else min(args.limit, hold_out)
    train_x, train_y = images[:limit], labels[:limit]
    val_x, val_y = images[hold_out:], labels[hold_out:]

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
        writer.writerows((f"train-{hold_out + i}", int(y))
                         for i, y in enumerate(predict(model, val_x)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
