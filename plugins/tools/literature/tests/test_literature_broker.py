"""The literature broker in process: configuration, allowlist, rate limits, sources, PDFs."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import urllib.parse

import pytest
from mlgym_tools_literature import pdftext
from mlgym_tools_literature.broker import LiteratureBroker, broker_config, pdf_url
from mlgym_tools_literature.fetch import Fetcher, FetchPolicy
from mlgym_tools_literature.sources import Paper, arxiv_query, merge
from mlgym_tools_literature.testing import ScholarlyServer, make_pdf

from mlgym.errors import ConfigError
from mlgym.specs import ServiceRequestError


def _broker(srv, **extra) -> LiteratureBroker:
    return LiteratureBroker({"semantic_scholar_url": srv.url, "arxiv_url": srv.url,
                             "min_interval": {}, "backoff": 0.01, **extra})


def test_configuration_errors_name_the_bad_value():
    with pytest.raises(ConfigError, match="unknown option 'arxiv'; did you mean 'arxiv_url'"):
        broker_config({"arxiv": "x"})
    with pytest.raises(ConfigError, match="arxiv_url must be an http"):
        broker_config({"arxiv_url": "ftp://arxiv.org"})


def test_search_answer_carries_structured_results():
    with ScholarlyServer() as srv:
        answer = _broker(srv).handle("search", {"query": "normalization mini-batch", "n": 5})
    [paper] = answer["results"]
    assert paper["title"].startswith("Batch Normalization")
    assert paper["year"] == 2015 and paper["authors"] == ["Sergey Ioffe", "Christian Szegedy"]
    assert paper["pdf_url"] == f"{srv.url}/pdf/1502.03167" and paper["also_in"] == ["arxiv"]
    assert answer["failures"] == {}


def test_requests_the_agent_gets_wrong_are_refused_with_reasons():
    with ScholarlyServer() as srv:
        broker = _broker(srv)
        for request, message in [({"query": " "}, "give a search query"),
                                 ({"query": "x", "n": "many"}, "must be an integer"),
                                 ({"query": "x", "sources": ["google"]},
                                  "unknown source 'google'")]:
            with pytest.raises(ServiceRequestError, match=message):
                broker.handle("search", request)
        with pytest.raises(ServiceRequestError, match="unknown operation 'fetch'"):
            broker.handle("fetch", {})
        with pytest.raises(ServiceRequestError, match="not valid base64"):
            broker.handle("parse_pdf", {"data": "@@@"})


def test_rate_limits_are_retried_until_the_budget_is_spent():
    with ScholarlyServer(rate_limit_first=10) as srv:
        fetcher = Fetcher(FetchPolicy(frozenset({"127.0.0.1"}), retries=2, backoff=0.01))
        with pytest.raises(ServiceRequestError, match=r"rate-limiting requests \(HTTP 429\)") \
                as err:
            fetcher.get(f"{srv.url}/api/query?search_query=all:x", what="arXiv")
        assert err.value.status == 429
        assert len(srv.requests) == 3  # the first try and two retries


def test_a_server_that_never_answers_times_out():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    host, port = silent.getsockname()
    try:
        fetcher = Fetcher(FetchPolicy(frozenset({"127.0.0.1"}), timeout=0.3))
        with pytest.raises(ServiceRequestError, match="could not reach arXiv"):
            fetcher.get(f"http://{host}:{port}/api/query", what="arXiv")
    finally:
        silent.close()


def test_only_http_and_allowlisted_hosts_are_fetched():
    fetcher = Fetcher(FetchPolicy(frozenset({"arxiv.org"})))
    assert fetcher.check_url("https://arxiv.org/pdf/1706.03762") == "arxiv.org"
    with pytest.raises(ServiceRequestError, match="only http and https"):
        fetcher.check_url("file:///etc/passwd")
    with pytest.raises(ServiceRequestError, match="'169.254.169.254' is not on"):
        fetcher.check_url("http://169.254.169.254/latest/meta-data")


def test_arxiv_links_and_queries():
    assert pdf_url("https://arxiv.org/abs/2502.14499v2") == "https://arxiv.org/pdf/2502.14499v2"
    assert pdf_url("https://example.org/abs/1") == "https://example.org/abs/1"
    assert arxiv_query("graph neural-networks: a survey!") == (
        "all:graph AND all:neural-networks AND all:a AND all:survey")


def test_merge_interleaves_sources_and_drops_duplicates():
    def paper(title, source, arxiv_id=None):
        return Paper(title, [], 2020, "", None, None, source, arxiv_id)

    s2 = [paper("A", "semantic_scholar", "1.1"), paper("B", "semantic_scholar")]
    ax = [paper("A (v2)", "arxiv", "1.1v2"), paper("C", "arxiv", "3.3")]
    merged = merge([s2, ax], 5)
    assert [p.title for p in merged] == ["A", "B", "C"]
    assert merged[0].also_in == ["arxiv"]
    assert [p.title for p in merge([s2, ax], 2)] == ["A", "B"]


def test_arxiv_error_feeds_become_messages():
    feed = ('<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/api/errors#'
            'incorrect_id</id><title>Error</title><summary>malformed id</summary></entry></feed>')

    class Fixed(ScholarlyServer):
        def arxiv_answer(self, params):
            return feed.encode()

    with Fixed() as srv:
        answer = _broker(srv).handle("search", {"query": "attention"})
    assert "arXiv refused the query: malformed id" in answer["failures"]["arxiv"]
    assert answer["results"][0]["title"] == "Attention Is All You Need"


def test_pdf_text_per_page_and_page_ranges():
    data = make_pdf(["one (first)", "two", "three"], compress=True)
    result = pdftext.extract(data, "2-3")
    assert result["pages"] == 3 and result["recovered"] is False
    assert {k: v.strip() for k, v in result["text"].items()} == {"2": "two", "3": "three"}
    with pytest.raises(ServiceRequestError, match="has 3 pages; page 7 does not exist"):
        pdftext.extract(data, "7")
    with pytest.raises(ServiceRequestError, match="bad page range '3-1'"):
        pdftext.extract(data, "3-1")


def test_pdf_with_a_wrong_cross_reference_table_is_repaired():
    data = make_pdf(["Wrong offsets", "still readable"])
    shifted = re.sub(rb"(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m.group(1)) + 7), data)
    assert shifted != data
    result = pdftext.extract(shifted)
    assert result["text"]["1"].strip() == "Wrong offsets" and not result["recovered"]


def test_text_of_a_truncated_pdf_is_recovered_stream_by_stream():
    data = make_pdf(["first page", "second page", "third page"], compress=True)
    cut = data[: data.index(b"xref")]
    result = pdftext.extract(cut)
    assert result["recovered"] and result["text"] == {
        "1": "first page", "2": "second page", "3": "third page"}
    assert pdftext.extract(cut, "2-3")["text"] == {"2": "second page", "3": "third page"}


@pytest.mark.parametrize("data, message", [
    (b"", "not a PDF"),
    (b"%PDF-1.7\n" + b"\x00\xff" * 600, "not a readable PDF"),
    (b"<!doctype html><html><body>paywall</body></html>", "an HTML page"),
])
def test_pdfs_that_cannot_be_read_give_a_reason(data, message):
    with pytest.raises(ServiceRequestError, match=message):
        pdftext.extract(data)


def test_parse_pdf_over_the_socket(tmp_path):
    from mlgym_tools_literature.broker import start

    service = start(tmp_path / "lit.sock", {"min_interval": {}})
    try:
        body = json.dumps({"data": base64.b64encode(make_pdf(["Hello socket"])).decode(),
                           "name": "x.pdf"})
        answer = _post(tmp_path / "lit.sock", "/parse_pdf", body)
        assert answer["text"]["1"].strip() == "Hello socket" and answer["source"] == "x.pdf"
        assert "error" in _post(tmp_path / "lit.sock", "/parse_pdf", "[1, 2]")
    finally:
        service.close()
    assert not (tmp_path / "lit.sock").exists()


def _post(path, route: str, body: str) -> dict:
    import http.client

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(str(path))

    conn = Conn("localhost", timeout=60)
    conn.request("POST", route, body=body)
    return json.loads(conn.getresponse().read())


def test_requests_to_one_host_are_spaced(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("mlgym_tools_literature.fetch.time.sleep", slept.append)
    with ScholarlyServer() as srv:
        host = urllib.parse.urlsplit(srv.url).hostname
        fetcher = Fetcher(FetchPolicy(frozenset({host}), min_interval={host: 30.0}))
        threads = [threading.Thread(target=fetcher.get, args=(f"{srv.url}/api/query",))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # the second waits out what is left of the interval: nearly all of it, however loaded
    assert len(slept) == 1 and 15 < slept[0] <= 30
