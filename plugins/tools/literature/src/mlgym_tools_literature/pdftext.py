"""Text of a PDF, extracted with pypdf in a child process so that a hostile or broken file can
neither hang nor crash the broker.

pypdf is pure Python (no system library), reads damaged files in its non-strict mode (it rebuilds
a broken cross-reference table) and is already a dependency of the harness, not of the sandbox.
When pypdf cannot open a file at all (a truncated download has no cross-reference table and no
trailer), the text is recovered by scanning the raw content streams for text operators, and the
answer says so (``recovered``; page numbers are then only the order of the streams).

Run as ``python -m mlgym_tools_literature.pdftext [first-last]`` it reads the PDF on stdin and
prints one JSON object: ``pages`` (count), ``text`` (per page), ``failed_pages``, ``warnings``,
``recovered``.
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import warnings
import zlib

from mlgym.specs import ServiceRequestError

MEMORY_LIMIT_BYTES = 2 * 1024**3


def parse_page_range(text: str | None, count: int | None = None) -> tuple[int, int] | None:
    """``"3-5"`` -> (3, 5); ``"4"`` -> (4, 4); None -> None. Raises on a malformed range."""
    if not text:
        return None
    parts = str(text).replace(" ", "").split("-")
    try:
        first, last = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (0, -1)
    except ValueError:
        first, last = 0, -1
    if first < 1 or last < first:
        raise ServiceRequestError(f"bad page range {text!r}; write it like 3-5 or 4")
    return first, last


def extract(data: bytes, pages: str | None = None, timeout: float = 120.0) -> dict:
    """Parse ``data`` in a child process; errors the agent should see raise ServiceRequestError."""
    if b"%PDF-" not in data[:1024]:
        kind = "an HTML page" if b"<html" in data[:2048].lower() else "not a PDF"
        raise ServiceRequestError(f"the document is {kind} (no %PDF- header); give the link of "
                                  "the PDF itself (for arXiv: https://arxiv.org/pdf/<id>)")
    parse_page_range(pages)
    argv = [sys.executable, "-m", "mlgym_tools_literature.pdftext"]
    argv += [str(pages)] if pages else []
    try:
        done = subprocess.run(argv, input=data, capture_output=True, timeout=timeout,
                              preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        raise ServiceRequestError(f"parsing the PDF took longer than {timeout:g} s; it may be "
                                  "damaged or very large (try --pages)", 422) from None
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise ServiceRequestError(f"the PDF could not be parsed: {tail[0]}", 422)
    result = json.loads(done.stdout)
    if "error" in result:
        raise ServiceRequestError(result["error"], 422)
    return result


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def _parse(data: bytes, pages: str | None) -> dict:
    """The worker: every page's text, recording the pages that fail instead of giving up."""
    import pypdf

    caught: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if len(caught) < 20:
                caught.append(record.getMessage())

    logging.getLogger("pypdf").addHandler(Collect())
    logging.getLogger("pypdf").propagate = False
    warnings.simplefilter("ignore")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return {"error": "the PDF is encrypted with a password"}
        count = len(reader.pages)
    except Exception as exc:  # pypdf raises many kinds on damaged files
        return _recover(data, f"{type(exc).__name__}: {exc}", pages)
    if count == 0:
        return _recover(data, "no pages found", pages)
    span = parse_page_range(pages) or (1, count)
    if span[0] > count:
        return {"error": f"the PDF has {count} pages; page {span[0]} does not exist"}
    texts, failed = {}, []
    for number in range(span[0], min(span[1], count) + 1):
        try:
            texts[number] = reader.pages[number - 1].extract_text() or ""
        except Exception as exc:
            failed.append(number)
            caught.append(f"page {number}: {type(exc).__name__}: {exc}")
    return {"pages": count, "text": {str(k): v for k, v in texts.items()}, "failed_pages": failed,
            "warnings": caught[:20], "recovered": False}


# --- recovery from files pypdf cannot open ------------------------------------------------------

_STREAM = re.compile(rb"(?<!end)stream\r?\n(.*?)(?:\r?\nendstream|\Z)", re.S)
_STRING = rb"\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)"
_OPERATOR = re.compile(
    rb"\[((?:[^\]\\]|\\.)*)\]\s*TJ"  # [(a) -20 (b)] TJ: strings with kerning
    rb"|(" + _STRING + rb")\s*(?:Tj|'|\")"  # (text) Tj, or ' and " which also move down
    rb"|(T\*|\bTd|\bTD|\bET)(?![A-Za-z0-9])",  # moves to a new line, end of text
    re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _recover(data: bytes, why: str, pages: str | None = None) -> dict:
    """Text from the content streams of a file pypdf cannot open, or an error. Each stream with
    text counts as a page (page ranges select streams)."""
    texts = []
    for match in _STREAM.finditer(data):
        raw = match.group(1)
        for candidate in (_inflate(raw), raw):
            text = _show_text(candidate) if candidate else ""
            if text.strip():
                texts.append(text)
                break
    if not texts:
        return {"error": f"the file is not a readable PDF ({why}) and no text could be recovered"}
    first, last = parse_page_range(pages) or (1, len(texts))
    return {"pages": len(texts),
            "text": {str(i): t for i, t in enumerate(texts, 1) if first <= i <= last},
            "failed_pages": [], "recovered": True,
            "warnings": [f"pypdf could not open the file ({why}); text recovered from "
                         f"{len(texts)} content streams"]}


def _inflate(raw: bytes) -> bytes | None:
    try:
        return zlib.decompressobj().decompress(raw)  # tolerates a stream cut short
    except zlib.error:
        return None


def _show_text(content: bytes) -> str:
    """The strings shown by the text operators of a content stream, one line per move."""
    out: list[str] = []
    for match in _OPERATOR.finditer(content):
        array, single, move = match.groups()
        if move:
            out.append("\n")
        elif single:
            out.append(_literal(single))
        else:
            out.extend(_literal(s) for s in re.findall(_STRING, array))
    text = "".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _literal(token: bytes) -> str:
    """Decode a PDF string literal ``(...)`` with its escapes."""
    body, out, i = token[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i:i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        nxt = body[i + 1:i + 2]
        octal = re.match(rb"[0-7]{1,3}", body[i + 1:i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(nxt, b"" if nxt in (b"\n", b"\r") else nxt)
            i += 2
    return out.decode("latin-1")


if __name__ == "__main__":
    try:
        result = _parse(sys.stdin.buffer.read(), sys.argv[1] if len(sys.argv) > 1 else None)
    except ServiceRequestError as exc:
        result = {"error": str(exc)}
    sys.stdout.write(json.dumps(result))
