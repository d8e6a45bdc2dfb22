"""The viewer's index and pages over many episodes, benchmark stores and the command line."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from mlgym.agents.launch import EpisodeSpec
from mlgym.bench.config import PlannedEpisode
from mlgym.bench.store import RunStore
from mlgym.view.index import EpisodeIndex
from mlgym.view.server import Viewer

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def copies(results: Path, root: Path, n: int) -> Path:
    """``n`` episodes: copies of the recorded ones under other seeds and methods."""
    sources = [results / "improve", results / "baseline"]
    for k in range(n):
        out = root / f"ep{k:04d}"
        shutil.copytree(sources[k % 2], out)
        record = json.loads((out / "result.json").read_text())
        record.update(seed=k, method=f"{record['method'].split(':')[0]}-{k % 3}")
        (out / "result.json").write_text(json.dumps(record))
    return root


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def test_filters_sort_and_pages(results, tmp_path):
    index = EpisodeIndex([copies(results, tmp_path / "many", 120)]).build()
    assert len(index.rows) == 120
    matched, page, pages = index.query(filters={"method": "baseline-0"})
    assert len(matched) == 20 and pages == 1  # k odd and k % 3 == 0: k = 3, 9, ..., 117
    matched, page, pages = index.query(sort="seed", descending=True, page=2)
    assert pages == 3 and [r.seed for r in page[:2]] == [69, 68]
    matched, _, _ = index.query(text="react-1")
    assert {r.method for r in matched} == {"react-1"}
    with Viewer(index) as viewer:
        listing = json.loads(get(viewer.url + "api/episodes?method=react-2&sort=seed"))
        assert listing["matched"] == 20 and listing["rows"][0]["seed"] == 2
        page = get(viewer.url + "?exit_reason=submitted&page=3")
        assert '<span id="matched">120</span>' in page
        assert len(re.findall(r'<tr class="episode"', page)) == 20  # 50 + 50 + 20


def test_the_index_is_cached_and_follows_changed_records(results, tmp_path):
    root = copies(results, tmp_path / "runs", 4)
    cache = tmp_path / "cache"
    EpisodeIndex([root], cache_dir=cache).build()
    [cache_file] = cache.iterdir()
    cached = json.loads(cache_file.read_text())
    assert len(cached["files"]) == 4
    # an unchanged file's row comes from the cache, without reading the file again
    first = str(root / "ep0000" / "result.json")
    cached["files"][first]["row"]["method"] = "from-the-cache"
    cache_file.write_text(json.dumps(cached))
    changed = root / "ep0001" / "result.json"
    record = json.loads(changed.read_text())
    record["method"] = "renamed"
    changed.write_text(json.dumps(record))
    os.utime(changed, ns=(1, 10**9))
    index = EpisodeIndex([root], cache_dir=cache).build()
    assert sorted(r.method for r in index.rows) == ["baseline-0", "from-the-cache", "react-2", "renamed"]


def test_a_benchmark_store_lists_finished_and_pending_episodes(results, tmp_path):
    run = tmp_path / "bench-run"
    store = RunStore(run)
    planned = [PlannedEpisode(f"fixture-threshold__m__seed{s}", "fixture-threshold", "m", s,
                              EpisodeSpec(task="fixture-threshold", seed=s)) for s in (0, 1)]
    store.add_episodes(planned)
    shutil.copytree(results / "improve", run / "episodes" / planned[0].key)
    record = json.loads((results / "improve" / "result.json").read_text())
    store.mark_running(planned[0].key, "w")
    store.mark_finished(planned[0].key, {**record, "method": "m"})
    store.close()
    index = EpisodeIndex([tmp_path]).build()
    rows = {r.seed: r for r in index.rows}
    assert (rows[0].state, rows[0].submission, rows[0].exit_reason) == ("done", 0.95, "submitted")
    assert (rows[1].state, rows[1].trajectory) == ("pending", None)
    assert {r.run for r in index.rows} == {str(run)}
    with Viewer(index) as viewer:
        assert "THRESHOLD = 45" in get(viewer.url + f"episode/{rows[0].id}")
        assert "has not started" in get(viewer.url + f"episode/{rows[1].id}")


def test_mlgym_view_prints_its_url_and_serves_the_run_list(results, tmp_path):
    env = {**os.environ, "MLGYM_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "mlgym", "view", str(results / "baseline"),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, (line, proc.stderr.read() if proc.poll() is not None else "")
        assert "1 episodes" in line
        page = get(url.group(0))
        assert '<span id="matched">1</span>' in page and "baseline" in page
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_what_the_agent_wrote_is_shown_as_text_never_run_as_markup(results, tmp_path):
    root = copies(results, tmp_path / "hostile", 1)
    path = root / "ep0000" / "trajectory.json"
    data = json.loads(path.read_text())
    data["steps"][0]["observation"] = '<script>document.title="owned"</script><b>bold</b>'
    data["steps"][1]["changes"]["files"][0]["diff"] += "+<img src=x onerror=alert(1)>\n"
    path.write_text(json.dumps(data))
    with Viewer(EpisodeIndex([root]).build()) as viewer:
        row = json.loads(get(viewer.url + "api/episodes"))["rows"][0]
        page = get(viewer.url + f"episode/{row['id']}")
    assert "&lt;script&gt;document.title=" in page and "<script>" not in page
    assert "+&lt;img src=x onerror=alert(1)&gt;" in page and "<img" not in page


def test_episodes_of_several_folders_are_told_apart_by_run(results):
    index = EpisodeIndex([results / "improve", results / "baseline"]).build()
    matched, _, _ = index.query(filters={"run": str(results / "baseline")})
    assert [r.method for r in matched] == ["baseline"]
    with Viewer(index) as viewer:
        page = get(viewer.url)
    assert 'id="filter-run"' in page and '>baseline</option>' in page
