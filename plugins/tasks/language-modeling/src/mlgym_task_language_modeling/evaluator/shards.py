"""Token shards in the modded-nanogpt binary format, the one the FineWeb GPT-2 shards use.

A shard is a 1,024-byte header of 256 little-endian int32 values, ``[20240520, 1, n, 0, ...]``
(magic number, format version, token count), followed by ``n`` GPT-2 token ids as little-endian
uint16. Documents are separated by ``<|endoftext|>`` (id 50256).
"""

from pathlib import Path

import numpy as np

MAGIC = 20240520
VERSION = 1
HEADER_INTS = 256
VOCAB_SIZE = 50257  # GPT-2's byte-pair encoding
END_OF_TEXT = 50256


class ShardError(ValueError):
    """A file that is not a well-formed shard; the message names it."""


def write_shard(path: Path, tokens) -> None:
    """Write ``tokens`` (ids below 65,536) as a shard at ``path``."""
    tokens = np.asarray(tokens)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= 1 << 16):
        raise ShardError(f"{path}: token ids must fit in uint16")
    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[:3] = MAGIC, VERSION, tokens.size
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(tokens.astype("<u2").tobytes())


def read_shard(path: Path) -> np.ndarray:
    """The tokens of the shard at ``path`` (uint16, memory-mapped), checked against its header."""
    path = Path(path)
    size = path.stat().st_size
    if size < HEADER_INTS * 4:
        raise ShardError(f"{path}: {size} bytes, shorter than the {HEADER_INTS * 4}-byte header")
    header = np.fromfile(path, dtype="<i4", count=HEADER_INTS)
    if header[0] != MAGIC or header[1] != VERSION:
        raise ShardError(f"{path}: header starts {header[:2].tolist()}, not [{MAGIC}, {VERSION}]"
                         " (not a modded-nanogpt token shard)")
    count = int(header[2])
    if size != HEADER_INTS * 4 + 2 * count:
        raise ShardError(f"{path}: the header announces {count} tokens but the file holds "
                         f"{(size - HEADER_INTS * 4) / 2:g}")
    return np.memmap(path, dtype="<u2", mode="r", offset=HEADER_INTS * 4, shape=(count,))
