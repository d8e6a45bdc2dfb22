"""Paper search on Semantic Scholar (graph API) and arXiv (Atom API), merged into one list."""

from __future__ import annotations

import json
import re
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field

from mlgym.specs import ServiceRequestError
from mlgym_tools_literature.fetch import Fetcher

S2_FIELDS = "title,authors,year,abstract,openAccessPdf,externalIds,url,venue,citationCount"
ATOM = "{http://www.w3.org/2005/Atom}"
SOURCES = ("semantic_scholar", "arxiv")
MAX_ABSTRACT_CHARS = 1500
MAX_AUTHORS = 6


@dataclass
class Paper:
    """One search result."""

    title: str
    authors: list[str]
    year: int | None
    abstract: str
    pdf_url: str | None
    url: str | None
    source: str
    arxiv_id: str | None = None
    venue: str | None = None
    citations: int | None = None
    also_in: list[str] = field(default_factory=list)

    def key(self) -> str:
        if self.arxiv_id:
            return "arxiv:" + re.sub(r"v\d+$", "", self.arxiv_id)
        return "title:" + re.sub(r"[^a-z0-9]", "", self.title.lower())

    def as_dict(self) -> dict:
        return asdict(self)


def search_semantic_scholar(fetcher: Fetcher, base_url: str, query: str, n: int,
                            api_key: str | None = None) -> list[Paper]:
    params = urllib.parse.urlencode({"query": query, "limit": n, "fields": S2_FIELDS})
    url = f"{base_url.rstrip('/')}/graph/v1/paper/search?{params}"
    headers = {"x-api-key": api_key} if api_key else {}
    answer = fetcher.get(url, headers, what="Semantic Scholar")
    try:
        data = json.loads(answer.body)
    except ValueError:
        raise ServiceRequestError("Semantic Scholar answered something that is not JSON",
                                  502) from None
    return [_s2_paper(item) for item in data.get("data") or [] if item.get("title")]


def _s2_paper(item: dict) -> Paper:
    ids = item.get("externalIds") or {}
    arxiv_id = ids.get("ArXiv")
    pdf = (item.get("openAccessPdf") or {}).get("url") or None
    if not pdf and arxiv_id:
        pdf = f"https://arxiv.org/pdf/{arxiv_id}"
    return Paper(
        title=_clean(item.get("title")),
        authors=[a.get("name", "") for a in item.get("authors") or [] if a.get("name")],
        year=item.get("year"),
        abstract=_clean(item.get("abstract")),
        pdf_url=pdf,
        url=item.get("url"),
        source="semantic_scholar",
        arxiv_id=arxiv_id,
        venue=item.get("venue") or None,
        citations=item.get("citationCount"),
    )


def arxiv_query(query: str) -> str:
    """arXiv's search syntax for a free-text query: every word must appear (``all:`` field)."""
    words = re.findall(r"[\w][\w.-]*", query)[:12]
    return " AND ".join(f"all:{w}" for w in words) or "all:*"


def search_arxiv(fetcher: Fetcher, base_url: str, query: str, n: int) -> list[Paper]:
    params = urllib.parse.urlencode({"search_query": arxiv_query(query), "start": 0,
                                     "max_results": n, "sortBy": "relevance"})
    answer = fetcher.get(f"{base_url.rstrip('/')}/api/query?{params}", what="arXiv")
    try:
        feed = ET.fromstring(answer.body)
    except ET.ParseError:
        raise ServiceRequestError("arXiv answered something that is not an Atom feed",
                                  502) from None
    papers = []
    for entry in feed.findall(f"{ATOM}entry"):
        entry_id = entry.findtext(f"{ATOM}id", "")
        if "/api/errors" in entry_id:
            raise ServiceRequestError(f"arXiv refused the query: "
                                      f"{_clean(entry.findtext(f'{ATOM}summary'))}", 400)
        papers.append(_arxiv_paper(entry, entry_id))
    return papers


def _arxiv_paper(entry: ET.Element, entry_id: str) -> Paper:
    pdf = None
    for link in entry.findall(f"{ATOM}link"):
        if link.get("title") == "pdf" or link.get("type") == "application/pdf":
            pdf = link.get("href")
    arxiv_id = entry_id.rsplit("/abs/", 1)[-1] if "/abs/" in entry_id else None
    published = entry.findtext(f"{ATOM}published", "")
    return Paper(
        title=_clean(entry.findtext(f"{ATOM}title")),
        authors=[_clean(a.findtext(f"{ATOM}name")) for a in entry.findall(f"{ATOM}author")],
        year=int(published[:4]) if published[:4].isdigit() else None,
        abstract=_clean(entry.findtext(f"{ATOM}summary")),
        pdf_url=pdf or (f"https://arxiv.org/pdf/{arxiv_id}" if arxiv_id else None),
        url=entry_id or None,
        source="arxiv",
        arxiv_id=arxiv_id,
    )


def merge(lists: list[list[Paper]], n: int) -> list[Paper]:
    """Interleave the sources' rankings, dropping duplicates (same arXiv id or title)."""
    seen: dict[str, Paper] = {}
    merged: list[Paper] = []
    for rank in range(max((len(x) for x in lists), default=0)):
        for papers in lists:
            if rank >= len(papers):
                continue
            paper = papers[rank]
            first = seen.get(paper.key())
            if first is not None:
                if paper.source not in first.also_in and paper.source != first.source:
                    first.also_in.append(paper.source)
                continue
            seen[paper.key()] = paper
            merged.append(paper)
    return merged[:n]


def format_results(query: str, papers: list[Paper], failures: dict[str, str]) -> str:
    """The text the agent reads: numbered papers with authors, year, PDF link and abstract."""
    lines = []
    for source, error in failures.items():
        lines.append(f"(warning: {_source_name(source)} failed: {error})")
    if not papers:
        lines.append(f'No papers found for "{query}".')
        return "\n".join(lines)
    lines.append(f'Found {len(papers)} paper{"s" if len(papers) != 1 else ""} for "{query}":')
    for i, p in enumerate(papers, 1):
        authors = ", ".join(p.authors[:MAX_AUTHORS])
        authors += " et al." if len(p.authors) > MAX_AUTHORS else ""
        where = ", ".join(_source_name(s) for s in [p.source] + p.also_in)
        lines.append("")
        lines.append(f"{i}. {p.title} ({p.year or 'year unknown'})")
        lines.append(f"   Authors: {authors or 'unknown'}")
        extra = [f"venue: {p.venue}"] if p.venue else []
        extra += [f"citations: {p.citations}"] if p.citations is not None else []
        extra += [f"arXiv: {p.arxiv_id}"] if p.arxiv_id else []
        lines.append(f"   Found on: {where}" + (f"; {'; '.join(extra)}" if extra else ""))
        lines.append(f"   PDF: {p.pdf_url or 'none openly available'}")
        if p.url:
            lines.append(f"   Page: {p.url}")
        lines.append(f"   Abstract: {_cut(p.abstract) or '(none)'}")
    lines.append("")
    lines.append("Read a paper with: parse_pdf <PDF link>")
    return "\n".join(lines)


def _source_name(source: str) -> str:
    return {"semantic_scholar": "Semantic Scholar", "arxiv": "arXiv"}.get(source, source)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _cut(text: str) -> str:
    if len(text) <= MAX_ABSTRACT_CHARS:
        return text
    more = len(text) - MAX_ABSTRACT_CHARS
    return f"{text[:MAX_ABSTRACT_CHARS]} ... [abstract cut: {more} more characters]"
