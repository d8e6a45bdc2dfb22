"""An export from start to end: find, select, rebuild, make records, redact, write."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlgym.errors import ConfigError
from mlgym.export import atif
from mlgym.export.conversations import RebuildError, rebuild
from mlgym.export.records import chat_records, step_records
from mlgym.export.redaction import Redactor
from mlgym.export.selection import Episode, Selection, find_trajectories, select
from mlgym.export.writers import file_format, write_documents, write_records

log = logging.getLogger(__name__)

KINDS = ("sft", "sft-tools", "atif", "steps")


@dataclass
class ExportReport:
    """What an export wrote and what it left out, and why."""

    path: Path
    episodes: int = 0
    records: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (episode id, reason)


def export(sources: Iterable[str | Path], kind: str, out: str | Path,
           selection: Selection | None = None, file_format_name: str | None = None,
           redactor: Redactor | None = None) -> ExportReport:
    """Export the selected episodes of ``sources`` as ``kind`` (one of :data:`KINDS`) to ``out``
    (a file for sft / sft-tools / steps, a folder for atif)."""
    if kind not in KINDS:
        raise ConfigError(f"export kind {kind!r}: give one of {', '.join(KINDS)}")
    selection = selection or Selection()
    redactor = redactor or Redactor()
    out = Path(out)
    episodes = select(find_trajectories(sources), selection)
    report = ExportReport(path=out)
    if kind == "atif":
        documents = {}
        for episode in episodes:
            system = _system_prompt(episode, report)
            document = redactor.record(atif.to_atif(episode, selection, system))
            atif.validate(document)
            documents[episode.id] = document
        write_documents(documents, out)
        report.episodes = report.records = len(documents)
        return report
    fmt = file_format(out, file_format_name)
    records: list[dict] = []
    for episode in episodes:
        made = _records(episode, kind, selection, report)
        if made is None:
            continue
        report.episodes += 1
        records.extend(redactor.record(r) for r in made)
    write_records(records, out, fmt)
    report.records = len(records)
    return report


def _records(episode: Episode, kind: str, selection: Selection,
             report: ExportReport) -> list[dict] | None:
    if kind == "steps":
        return step_records(episode, selection)
    try:
        conversation = rebuild(episode.data, "tool_calls" if kind == "sft-tools" else "text")
    except (RebuildError, ConfigError) as exc:
        report.skipped.append((episode.id, str(exc)))
        log.warning("left out %s: %s", episode.id, exc)
        return None
    return chat_records(episode, conversation, selection)


def _system_prompt(episode: Episode, report: ExportReport) -> str | None:
    try:
        conversation = rebuild(episode.data)
    except (RebuildError, ConfigError):
        return None  # an agent without a model: the document starts with the task
    history = conversation.history
    return history[0]["content"] if history and history[0]["role"] == "system" else None
