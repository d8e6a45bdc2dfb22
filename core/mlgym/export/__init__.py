"""Exporting episodes as training data: chat records for SFT, Harbor's ATIF, step records for RL.

- :mod:`~mlgym.export.selection`: where trajectories are found and which are kept (task,
  method, exit reason, score threshold, top-k per task, the split whose evaluations count);
- :mod:`~mlgym.export.conversations`: the messages the agent sent its model, rebuilt by
  driving the agent again on the recorded replies;
- :mod:`~mlgym.export.records`: TRL prompt-completion records and ``mlgym-steps/1`` records;
- :mod:`~mlgym.export.atif`: ATIF v1.4 documents, checked against the specification's schema;
- :mod:`~mlgym.export.redaction`: secrets and the harness's paths replaced;
- :mod:`~mlgym.export.writers`: JSON Lines, Parquet, one JSON file per document;
- :mod:`~mlgym.export.pipeline`: :func:`export`, all of it in order (``mlgym export``).

Layer: imports :mod:`mlgym.errors`, :mod:`mlgym.agents` (the trajectory reader, agents built
from their configs) and :mod:`mlgym.plugins`; never the command line. See docs/training.md.
"""

from mlgym.export.conversations import Conversation, ModelCall, RebuildError, rebuild
from mlgym.export.pipeline import KINDS, ExportReport, export
from mlgym.export.records import STEP_FORMAT, chat_records, step_records
from mlgym.export.redaction import Redactor
from mlgym.export.selection import SPLITS, Episode, Selection, find_trajectories, select

__all__ = [
    "KINDS",
    "SPLITS",
    "STEP_FORMAT",
    "Conversation",
    "Episode",
    "ExportReport",
    "ModelCall",
    "RebuildError",
    "Redactor",
    "Selection",
    "chat_records",
    "export",
    "find_trajectories",
    "rebuild",
    "select",
    "step_records",
]
