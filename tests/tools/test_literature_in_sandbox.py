"""literature_search and parse_pdf from inside an offline sandbox, through the broker, against a
local server that speaks the Semantic Scholar and arXiv protocols.

Needs bubblewrap: the sandbox is ``bwrap`` (or ``$MLGYM_TEST_BACKEND``), and where it does not
work these tests skip -- which fails the run under CI (see ``tests/skips.yaml``).
"""

from __future__ import annotations

import pytest
from mlgym_tools_literature.testing import ScholarlyServer, make_pdf

pytestmark = pytest.mark.bwrap


@pytest.fixture
def server():
    with ScholarlyServer() as srv:
        yield srv


def _broker_config(srv, **extra):
    return {"semantic_scholar_url": srv.url, "arxiv_url": srv.url, "min_interval": {},
            "backoff": 0.01, "timeout": 10, **extra}


@pytest.fixture
def box(tool_sandbox, server):
    return tool_sandbox(["literature"], {"literature": _broker_config(server)})


def test_the_sandbox_itself_cannot_reach_the_server(box, server):
    fetch = f"import urllib.request; urllib.request.urlopen('{server.url}')"
    result = box.run(f'python3 -c "{fetch}"')
    assert result.exit_code != 0
    assert "Connection refused" in result.output or "Network is unreachable" in result.output


def test_literature_search_lists_papers_from_both_sources(box, server):
    out = box.out('literature_search "adaptive moment optimization" 3')
    assert 'Found 1 paper for "adaptive moment optimization"' in out
    assert "1. Adam: A Method for Stochastic Optimization (2014)" in out
    assert "Authors: Diederik P. Kingma, Jimmy Ba" in out
    assert "Found on: Semantic Scholar, arXiv" in out
    assert f"PDF: {server.url}/pdf/1412.6980" in out
    assert "Abstract: A first-order gradient method" in out
    assert any(r.startswith("/graph/v1/paper/search?") for r in server.requests)
    assert any(r.startswith("/api/query?") for r in server.requests)


def test_literature_search_counts_sources_and_limits(box):
    out = box.out("literature_search learning rates --source arxiv")
    assert "Found on: arXiv" in out and "Semantic Scholar" not in out
    out = box.out("literature_search learning 2")
    assert out.count("Authors:") == 2
    assert "ask for 1 to 20 results" in box.out("literature_search learning 50")
    assert "No papers found" in box.out("literature_search quantum chromodynamics")
    result = box.run("literature_search")
    assert result.exit_code == 1 and "Usage: literature_search" in result.output


def test_parse_pdf_reads_a_paper_found_by_search(box, server):
    out = box.out(f"parse_pdf {server.url}/pdf/1706.03762")
    assert out.startswith(f"[PDF: {server.url}/pdf/1706.03762, 2 pages; text of pages 1-2]")
    assert "--- page 1 ---\nAttention Is All You Need" in out
    assert "--- page 2 ---\n1 Introduction\nThis is the body of 1706.03762." in out
    out = box.out(f"parse_pdf {server.url}/pdf/1706.03762 --pages 2")
    assert "text of pages 2-2" in out and "Attention Is All" not in out


def test_parse_pdf_reads_workspace_files_and_saves_long_text(box):
    pages = [f"Section {i}\n" + "\n".join(f"line {i}.{j} of the paper" for j in range(40))
             for i in range(1, 31)]
    box.put("papers/long.pdf", make_pdf(pages, compress=True))
    out = box.out("parse_pdf papers/long.pdf")
    assert out.startswith("[PDF: papers/long.pdf, 30 pages; text of pages 1-30]")
    assert "--- page 1 ---\nSection 1\nline 1.0 of the paper" in out
    assert "[text cut:" in out and "--pages" in out and "Section 30" not in out
    out = box.out("parse_pdf papers/long.pdf --out papers/long.txt")
    assert "saved all" in out and "papers/long.txt" in out
    saved = (box.workspace / "papers" / "long.txt").read_text()
    assert "--- page 30 ---\nSection 30" in saved and "line 30.39 of the paper" in saved


def test_parse_pdf_survives_broken_files(box):
    good = make_pdf(["Results\nAccuracy rose to 91 percent.", "Second page"], compress=True)
    box.put("cut.pdf", good[: len(good) - 150])  # a download cut short: no xref, no trailer
    box.put("noise.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 8)
    box.put("page.pdf", b"<html><body>Just a landing page</body></html>")
    out = box.out("parse_pdf cut.pdf")
    assert "is damaged; text recovered from 2 content streams" in out
    assert "Accuracy rose to 91 percent." in out
    result = box.run("parse_pdf noise.pdf")
    assert result.exit_code == 1 and "not a readable PDF" in result.output
    assert "is an HTML page" in box.out("parse_pdf page.pdf")
    assert "File missing.pdf not found" in box.out("parse_pdf missing.pdf")
    assert "--pages takes a page or a range" in box.out("parse_pdf cut.pdf --pages x")


def test_broker_refuses_hosts_off_the_allowlist(box, server):
    out = box.out("parse_pdf https://example.org/paper.pdf")
    assert "host 'example.org' is not on the literature broker's allowlist" in out
    out = box.out(f"parse_pdf {server.url}/elsewhere")  # redirects to example.org
    assert "host 'example.org' is not on the literature broker's allowlist" in out


def test_rate_limited_source_is_retried(tool_sandbox):
    with ScholarlyServer(rate_limit_first=2) as srv:
        box = tool_sandbox(["literature"], {"literature": _broker_config(srv)})
        out = box.out("literature_search attention 1 --source semantic_scholar")
        assert "1. Attention Is All You Need (2017)" in out
        assert len(srv.requests) == 3  # two answers 429, then the search


def test_a_source_that_stays_rate_limited_is_reported_and_the_other_still_answers(tool_sandbox):
    with ScholarlyServer(rate_limit_first=4) as srv:
        box = tool_sandbox(["literature"], {"literature": _broker_config(srv, retries=3)})
        out = box.out("literature_search attention 1")  # S2 gets all four 429s
        assert "(warning: Semantic Scholar failed: Semantic Scholar is rate-limiting" in out
        assert "1. Attention Is All You Need (2017)" in out and "Found on: arXiv" in out
