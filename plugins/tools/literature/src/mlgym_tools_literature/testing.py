"""Offline stand-ins for the literature sources, for tests and demos without network.

- :class:`ScholarlyServer`: a local HTTP server that answers the Semantic Scholar graph API
  (``/graph/v1/paper/search``) and the arXiv API (``/api/query``, Atom) from a small corpus, and
  serves each paper's PDF (``/pdf/<id>``) and abstract page (``/abs/<id>``). It can answer 429
  a given number of times first, to exercise rate-limit handling.
- :func:`make_pdf`: a small valid PDF with the given text on each page, written by hand.

Point the broker at it with ``{"semantic_scholar_url": server.url, "arxiv_url": server.url}``.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class CorpusPaper:
    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    year: int
    abstract: str


CORPUS = (
    CorpusPaper("1706.03762", "Attention Is All You Need",
                ("Ashish Vaswani", "Noam Shazeer", "Niki Parmar", "Jakob Uszkoreit", "Llion Jones",
                 "Aidan N. Gomez", "Lukasz Kaiser", "Illia Polosukhin"), 2017,
                "A sequence transduction architecture built only from attention layers, without "
                "recurrence or convolution, reaching strong translation quality."),
    CorpusPaper("1412.6980", "Adam: A Method for Stochastic Optimization",
                ("Diederik P. Kingma", "Jimmy Ba"), 2014,
                "A first-order gradient method with adaptive estimates of lower-order moments, "
                "suited to noisy objectives and large learning problems."),
    CorpusPaper("1502.03167", "Batch Normalization: Accelerating Deep Network Training",
                ("Sergey Ioffe", "Christian Szegedy"), 2015,
                "Normalising layer inputs over each mini-batch allows higher learning rates and "
                "makes training of deep networks faster."),
    CorpusPaper("2502.14499",
                "MLGym: A New Framework and Benchmark for Advancing AI Research Agents",
                ("Deepak Nathani", "Lovish Madaan", "Nicholas Roberts"), 2025,
                "A Gym environment and benchmark of machine learning research tasks for "
                "evaluating and training research agents built on language models."),
)


def make_pdf(pages: list[str], compress: bool = False) -> bytes:
    """A valid PDF whose page ``i`` shows the lines of ``pages[i]`` in Helvetica; ``compress``
    writes the content streams with FlateDecode, as most real PDFs do."""
    objects: list[bytes] = []
    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    font_ref = 3 + 2 * n
    for i, text in enumerate(pages):
        content_ref = 4 + 2 * i
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 {font_ref} 0 R >> >> "
                       f"/Contents {content_ref} 0 R >>".encode())
        stream = _text_stream(text)
        flate = b""
        if compress:
            stream, flate = zlib.compress(stream), b" /Filter /FlateDecode"
        objects.append(b"<< /Length %d%s >>\nstream\n" % (len(stream), flate) + stream
                       + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _text_stream(text: str) -> bytes:
    lines = [b"BT", b"/F1 12 Tf", b"14 TL", b"72 740 Td"]
    for line in text.split("\n"):
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        lines.append(b"(" + safe.encode("latin-1", "replace") + b") Tj T*")
    lines.append(b"ET")
    return b"\n".join(lines)


def _paper_pdf(paper: CorpusPaper) -> bytes:
    return make_pdf([f"{paper.title}\n{', '.join(paper.authors)}\n\nAbstract\n{paper.abstract}",
                     f"1 Introduction\nThis is the body of {paper.arxiv_id}."])


class ScholarlyServer:
    """The fake Semantic Scholar + arXiv server; use as a context manager."""

    def __init__(self, corpus: tuple[CorpusPaper, ...] = CORPUS, rate_limit_first: int = 0):
        self.corpus = corpus
        self.rate_limit_left = rate_limit_first  # answer 429 to this many requests first
        self.requests: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScholarlyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def matching(self, query: str) -> list[CorpusPaper]:
        words = [w.lower() for w in query.replace(":", " ").split() if w.lower() not in
                 ("all", "and", "or")]
        scored = []
        for paper in self.corpus:
            text = f"{paper.title} {paper.abstract}".lower()
            hits = sum(w in text for w in words)
            if hits:
                scored.append((-hits, paper.arxiv_id, paper))
        return [p for _, _, p in sorted(scored)]

    def s2_answer(self, params: dict) -> dict:
        papers = self.matching(params.get("query", [""])[0])[: int(params.get("limit", ["10"])[0])]
        data = [{
            "paperId": f"s2-{p.arxiv_id}", "title": p.title, "year": p.year,
            "abstract": p.abstract, "url": f"{self.url}/paper/s2-{p.arxiv_id}",
            "authors": [{"authorId": str(i), "name": a} for i, a in enumerate(p.authors)],
            "openAccessPdf": {"url": f"{self.url}/pdf/{p.arxiv_id}", "status": "GREEN"},
            "externalIds": {"ArXiv": p.arxiv_id}, "venue": "", "citationCount": 1000,
        } for p in papers]
        return {"total": len(data), "offset": 0, "data": data}

    def arxiv_answer(self, params: dict) -> bytes:
        query = params.get("search_query", [""])[0]
        papers = self.matching(query)[: int(params.get("max_results", ["10"])[0])]
        entries = "".join(
            f"<entry><id>http://arxiv.org/abs/{p.arxiv_id}v1</id>"
            f"<published>{p.year}-01-15T00:00:00Z</published>"
            f"<title>{escape(p.title)}</title><summary>{escape(p.abstract)}</summary>"
            + "".join(f"<author><name>{escape(a)}</name></author>" for a in p.authors)
            + f'<link href="{self.url}/abs/{p.arxiv_id}v1" rel="alternate" type="text/html"/>'
            f'<link title="pdf" href="{self.url}/pdf/{p.arxiv_id}v1" rel="related" '
            f'type="application/pdf"/></entry>'
            for p in papers)
        return (f'<?xml version="1.0" encoding="UTF-8"?>'
                f'<feed xmlns="http://www.w3.org/2005/Atom"><title>arXiv Query: {escape(query)}'
                f"</title>{entries}</feed>").encode()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                parts = urllib.parse.urlsplit(self.path)
                params = urllib.parse.parse_qs(parts.query)
                if server.rate_limit_left > 0:
                    server.rate_limit_left -= 1
                    return self._send(429, b'{"message": "Too Many Requests"}', "application/json",
                                      {"Retry-After": "0"})
                if parts.path == "/graph/v1/paper/search":
                    return self._send(200, json.dumps(server.s2_answer(params)).encode(),
                                      "application/json")
                if parts.path == "/api/query":
                    return self._send(200, server.arxiv_answer(params), "application/atom+xml")
                name = parts.path.rstrip("/").split("/")[-1]
                paper = next((p for p in server.corpus if name.startswith(p.arxiv_id)), None)
                if parts.path.startswith("/pdf/") and paper:
                    return self._send(200, _paper_pdf(paper), "application/pdf")
                if parts.path.startswith("/abs/") and paper:
                    return self._send(200, f"<html><body>{paper.title}</body></html>".encode(),
                                      "text/html")
                if parts.path == "/elsewhere":  # a redirect off the allowlist
                    return self._send(302, b"", "text/plain",
                                      {"Location": "http://example.org/x.pdf"})
                self._send(404, b"not found", "text/plain")

            def _send(self, status: int, body: bytes, kind: str, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler
