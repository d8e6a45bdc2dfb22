"""The corpora: shards in the modded-nanogpt format, the Shakespeare build reproducing its
declared checksums, and the corpus chosen by MLGYM_LM_CORPUS."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from conftest import PACKAGE, declared_files, read_shard, write_shard
from mlgym_task_language_modeling import corpus
from shards import MAGIC, ShardError


def test_a_shard_has_the_modded_nanogpt_header_and_uint16_tokens(tmp_path):
    path = tmp_path / "shard.bin"
    write_shard(path, [50256, 464, 3290, 65535])
    raw = path.read_bytes()
    header = np.frombuffer(raw[:1024], dtype="<i4")
    assert header[:3].tolist() == [MAGIC, 1, 4] and not header[3:].any()
    assert np.frombuffer(raw[1024:], dtype="<u2").tolist() == [50256, 464, 3290, 65535]
    assert read_shard(path).tolist() == [50256, 464, 3290, 65535]


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:100], "shorter than the 1024-byte header"),
    (lambda raw: b"\0" * 4 + raw[4:], "not a modded-nanogpt token shard"),
    (lambda raw: raw[:-2], "announces 4 tokens but the file holds 3"),
], ids=["truncated-header", "bad-magic", "truncated-tokens"])
def test_a_damaged_shard_is_refused_with_a_message(tmp_path, damage, message):
    path = tmp_path / "shard.bin"
    write_shard(path, [1, 2, 3, 4])
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ShardError, match=message):
        read_shard(path)


def test_the_shakespeare_build_reproduces_its_declared_checksums(tmp_path, shakespeare):
    written = corpus.build_shakespeare(tmp_path)
    assert {name: written[name] for name in declared_files()} == declared_files()
    assert written["test.bin"] == corpus.TEST_SHA256
    digest = hashlib.sha256((PACKAGE / "hidden/shakespeare/test.bin").read_bytes()).hexdigest()
    assert digest == corpus.TEST_SHA256


def test_the_test_plays_are_only_in_the_hidden_folder(shakespeare):
    encoding = corpus.gpt2_encoding()
    macbeth = corpus.play_tokens(encoding, corpus.shakespeare_plays()["macbeth"])[1:200]
    test = np.asarray(read_shard(PACKAGE / "hidden/shakespeare/test.bin"))
    needle = np.asarray(macbeth, dtype=test.dtype).tobytes()
    assert needle in test.tobytes()
    for name in ("train.bin", "val.bin"):
        assert needle not in np.asarray(read_shard(PACKAGE / "datasets/shakespeare" / name)
                                        ).tobytes()
    text = encoding.decode(read_shard(PACKAGE / "datasets/shakespeare/val.bin")[:40].tolist())
    assert text.startswith("<|endoftext|># Julius Caesar")


def listed_dataset(env_value: str | None) -> str:
    code = ("import mlgym_task_language_modeling as p; "
            "print([str(x) for x in p.mlgym_datasets()])")
    env = {} if env_value is None else {"MLGYM_LM_CORPUS": env_value}
    import os

    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "MLGYM_LM_CORPUS"}
                         | env)
    return run.stdout + run.stderr


def test_the_corpus_is_chosen_by_an_environment_variable():
    assert "datasets/shakespeare/dataset.yaml" in listed_dataset(None)
    assert "datasets/shakespeare/dataset.yaml" in listed_dataset("shakespeare")
    fineweb = listed_dataset("fineweb")
    assert "shakespeare" not in fineweb
    assert "MLGYM_LM_CORPUS='wiki': choose shakespeare or fineweb" in listed_dataset("wiki")
