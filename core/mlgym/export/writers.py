"""Writing records: JSON Lines or Parquet (through ``datasets``, so what it writes it reads)."""

from __future__ import annotations

import json
from pathlib import Path

from mlgym.errors import ConfigError

FILE_FORMATS = ("jsonl", "parquet")


def file_format(path: Path, given: str | None = None) -> str:
    """The file format named, or the one the file's suffix says (``.jsonl`` or ``.parquet``)."""
    if given:
        if given not in FILE_FORMATS:
            raise ConfigError(f"file format {given!r}: give one of {', '.join(FILE_FORMATS)}")
        return given
    suffix = path.suffix.lstrip(".").lower()
    if suffix in ("jsonl", "json"):
        return "jsonl"
    if suffix in ("parquet", "pq"):
        return "parquet"
    raise ConfigError(f"{path}: name a .jsonl or .parquet file (or give --file-format)")


def write_records(records: list[dict], path: Path, fmt: str) -> Path:
    """Write ``records`` to ``path``; an empty list still writes an empty file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return path
    try:
        import datasets
    except ImportError:
        raise ConfigError("Parquet output needs the datasets library: "
                          "pip install 'mlgym-core[export]'") from None
    # tool arguments differ from one tool to the next: as JSON text they fit one column type
    datasets.Dataset.from_list([_arguments_as_text(r) for r in records]).to_parquet(str(path))
    return path


def _arguments_as_text(record: dict) -> dict:
    out = dict(record)
    if isinstance(out.get("evaluation"), dict):
        out["evaluation"] = json.dumps(out["evaluation"])
    if out.get("format") != "tool_calls":
        return out
    for column in ("prompt", "completion", "messages"):
        if column in out:
            out[column] = [_message_with_text_arguments(m) for m in out[column]]
    if "tools" in out:
        out["tools"] = [json.dumps(t, ensure_ascii=False) for t in out["tools"]]
    return out


def _message_with_text_arguments(message: dict) -> dict:
    message = {"role": message["role"], "content": message.get("content") or "",
               "tool_calls": [{"type": "function", "function": {
                   "name": call["function"]["name"],
                   "arguments": json.dumps(call["function"]["arguments"], ensure_ascii=False)}}
                   for call in message.get("tool_calls") or []],
               "tool_call_id": message.get("tool_call_id") or ""}
    return message


def write_documents(documents: dict[str, dict], folder: Path) -> list[Path]:
    """One JSON file per document, named after its key (made safe for a file name)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for key, document in documents.items():
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in key) + ".json"
        path = folder / name
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
