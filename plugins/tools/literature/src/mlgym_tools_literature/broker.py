"""The literature broker: the harness-side service behind ``literature_search`` and ``parse_pdf``.

The sandbox has no network. The broker runs outside it for one episode, listens on a Unix socket
bound into the sandbox, and fetches only from an allowlist of hosts. Operations (JSON in, JSON
out, see :class:`mlgym.specs.JSONSocketServer`):

- ``search`` ``{"query", "n", "sources"}`` -> ``{"results": [...], "failures": {...}, "text"}``
- ``parse_pdf`` ``{"url"}`` or ``{"data": base64, "name"}``, optional ``"pages": "3-5"`` ->
  ``{"pages", "text": {page: text}, "failed_pages", "warnings"}``

Configuration (the service's ``config`` mapping; every key optional):

| key | default |
|---|---|
| ``semantic_scholar_url`` | ``https://api.semanticscholar.org`` |
| ``arxiv_url`` | ``https://export.arxiv.org`` |
| ``allowed_hosts`` | ``[api.semanticscholar.org, export.arxiv.org, arxiv.org]`` + base URL hosts |
| ``semantic_scholar_api_key`` | environment ``SEMANTIC_SCHOLAR_API_KEY``, else none |
| ``timeout`` | 20 (seconds per request) |
| ``retries`` / ``backoff`` / ``max_wait`` | 3 / 2.0 / 60 (retries, first and total wait, s) |
| ``min_interval`` | ``{export.arxiv.org: 3, api.semanticscholar.org: 1}`` (s between requests) |
| ``max_pdf_mb`` | 50 |
| ``pdf_timeout`` | 120 (seconds to parse one PDF) |
"""

from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
import urllib.parse
from pathlib import Path

from mlgym.errors import ConfigError
from mlgym.specs import JSONSocketServer, ServiceRequestError
from mlgym_tools_literature import pdftext
from mlgym_tools_literature.fetch import Fetcher, FetchPolicy
from mlgym_tools_literature.sources import (
    SOURCES,
    format_results,
    merge,
    search_arxiv,
    search_semantic_scholar,
)

DEFAULTS = {
    "semantic_scholar_url": "https://api.semanticscholar.org",
    "arxiv_url": "https://export.arxiv.org",
    "allowed_hosts": ["api.semanticscholar.org", "export.arxiv.org", "arxiv.org"],
    "semantic_scholar_api_key": None,
    "timeout": 20.0,
    "retries": 3,
    "backoff": 2.0,
    "max_wait": 60.0,
    "min_interval": {"export.arxiv.org": 3.0, "api.semanticscholar.org": 1.0},
    "max_pdf_mb": 50,
    "pdf_timeout": 120.0,
}
MAX_RESULTS = 20


def broker_config(config: dict | None) -> dict:
    """``config`` over the defaults; an unknown key raises ConfigError with the near match."""
    config = dict(config or {})
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        key = unknown[0]
        near = difflib.get_close_matches(key, DEFAULTS, n=1)
        hint = f"did you mean {near[0]!r}?" if near else f"known keys: {', '.join(DEFAULTS)}"
        raise ConfigError(f"literature service: unknown option {key!r}; {hint}")
    merged = {**DEFAULTS, **config}
    for key in ("semantic_scholar_url", "arxiv_url"):
        if urllib.parse.urlsplit(str(merged[key])).scheme not in ("http", "https"):
            raise ConfigError(f"literature service: {key} must be an http(s) URL, "
                              f"got {merged[key]!r}")
    return merged


class LiteratureBroker:
    """Searches and fetches papers on behalf of the sandboxed agent."""

    def __init__(self, config: dict | None = None):
        self.config = broker_config(config)
        c = self.config
        hosts = {h.lower() for h in c["allowed_hosts"]}
        hosts |= {urllib.parse.urlsplit(c[k]).hostname
                  for k in ("semantic_scholar_url", "arxiv_url")}
        self.fetcher = Fetcher(FetchPolicy(
            allowed_hosts=frozenset(hosts), timeout=float(c["timeout"]), retries=int(c["retries"]),
            backoff=float(c["backoff"]), max_wait=float(c["max_wait"]),
            min_interval={k.lower(): float(v) for k, v in c["min_interval"].items()},
            max_bytes=int(c["max_pdf_mb"] * 1024 * 1024)))
        self.api_key = c["semantic_scholar_api_key"] or os.environ.get("SEMANTIC_SCHOLAR_API_KEY")

    def handle(self, operation: str, request: dict) -> dict:
        if operation == "search":
            return self.search(str(request.get("query", "")), request.get("n", 5),
                               request.get("sources") or list(SOURCES))
        if operation == "parse_pdf":
            return self.parse_pdf(request)
        if operation == "ping":
            return {"ok": True}
        raise ServiceRequestError(f"unknown operation {operation!r}; use search or parse_pdf", 404)

    def search(self, query: str, n, sources) -> dict:
        query = " ".join(query.split())
        if not query:
            raise ServiceRequestError("give a search query, e.g. literature_search 'graph neural "
                                      "networks' 5")
        try:
            n = int(n)
        except (TypeError, ValueError):
            raise ServiceRequestError(f"the number of results must be an integer, got {n!r}") \
                from None
        if not 1 <= n <= MAX_RESULTS:
            raise ServiceRequestError(f"ask for 1 to {MAX_RESULTS} results, not {n}")
        bad = [s for s in sources if s not in SOURCES]
        if bad:
            raise ServiceRequestError(f"unknown source {bad[0]!r}; use {' or '.join(SOURCES)}")
        found, failures = [], {}
        for source in sources:
            try:
                if source == "semantic_scholar":
                    found.append(search_semantic_scholar(self.fetcher, self.config[
                        "semantic_scholar_url"], query, n, self.api_key))
                else:
                    found.append(search_arxiv(self.fetcher, self.config["arxiv_url"], query, n))
            except ServiceRequestError as exc:
                failures[source] = str(exc)
        if len(failures) == len(sources):
            raise ServiceRequestError("; ".join(f"{k}: {v}" for k, v in failures.items()), 502)
        papers = merge(found, n)
        return {"results": [p.as_dict() for p in papers], "failures": failures,
                "text": format_results(query, papers, failures)}

    def parse_pdf(self, request: dict) -> dict:
        pages = request.get("pages")
        if request.get("url"):
            url = pdf_url(str(request["url"]))
            answer = self.fetcher.get(url, what=urllib.parse.urlsplit(url).hostname or url)
            data, name = answer.body, url
        elif request.get("data") is not None:
            try:
                data = base64.b64decode(str(request["data"]), validate=True)
            except (binascii.Error, ValueError):
                raise ServiceRequestError("the file data is not valid base64") from None
            name = str(request.get("name") or "the file")
        else:
            raise ServiceRequestError("give a URL or a file: parse_pdf <url-or-path>")
        result = pdftext.extract(data, pages, float(self.config["pdf_timeout"]))
        result["source"] = name
        return result


def pdf_url(url: str) -> str:
    """An arXiv abstract page link becomes its PDF link; other URLs are kept."""
    match = re.match(r"^https?://(export\.)?arxiv\.org/abs/(.+?)/?$", url.strip())
    return f"https://arxiv.org/pdf/{match.group(2)}" if match else url.strip()


class BrokerService:
    """A running broker: the socket server plus the broker; ``close()`` stops it."""

    def __init__(self, socket_path: str | Path, config: dict | None = None):
        self.broker = LiteratureBroker(config)
        self.server = JSONSocketServer(socket_path, self.broker.handle, name="literature")

    @property
    def socket_path(self) -> Path:
        return self.server.socket_path

    def close(self) -> None:
        self.server.close()


def start(socket_path: str | Path, config: dict | None = None) -> BrokerService:
    """Start the literature broker on ``socket_path`` (the :class:`ServiceSpec` entry)."""
    return BrokerService(socket_path, config)
