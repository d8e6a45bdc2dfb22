"""The viewer in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium over episodes recorded in bwrap sandboxes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from mlgym.view.server import Viewer, make_index

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    assert not missing, f"{missing} missing: apt-get install chromium chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def rows(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "#episodes tr.episode")


def column(driver, css: str) -> list[str]:
    return [r.find_element(By.CSS_SELECTOR, css).text for r in rows(driver)]


def test_run_list_episode_diff_score_timeline_and_comparison(results, browser, screenshots, tmp_path):
    index = make_index([results], cache=False)
    with Viewer(index) as viewer:
        browser.get(viewer.url)
        assert len(rows(browser)) == 3
        assert browser.find_element(By.ID, "matched").text == "3"
        assert sorted(column(browser, ".submission")) == ["0.925", "0.95", "0.95"]
        assert len(browser.find_elements(By.CSS_SELECTOR, "#aup tr")) == 4  # header, 2 + baseline
        browser.save_screenshot(str(screenshots / "viewer-runs.png"))

        # filter: only the baseline agent's episode is left
        Select(browser.find_element(By.ID, "filter-method")).select_by_visible_text("baseline")
        browser.find_element(By.ID, "apply").click()
        assert len(rows(browser)) == 1
        assert column(browser, "td:nth-child(4)") == ["baseline"]
        assert column(browser, ".submission") == ["0.925"]

        # sort by submission, best first, among all episodes
        browser.get(viewer.url)
        browser.find_element(By.ID, "sort-submission").click()
        browser.find_element(By.ID, "sort-submission").click()
        assert column(browser, ".submission") == ["0.95", "0.95", "0.925"]

        # the scripted episode: its diff and its score timeline
        improve = next(r for r in index.rows if r.trajectory and "/improve/" in r.trajectory)
        browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{improve.id}"] a.open').click()
        assert browser.find_element(By.ID, "exit-reason").text == "submitted"
        assert browser.find_element(By.ID, "submission").text == "0.95"
        added = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#step-2 .diff .add")]
        removed = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#step-2 .diff .del")]
        assert "+THRESHOLD = 45" in added and "-THRESHOLD = 50" in removed
        changed = [e.get_attribute("data-path")
                   for e in browser.find_elements(By.CSS_SELECTOR, "#step-3 .changed")]
        assert changed == ["predictions.csv"]
        assert not browser.find_elements(By.CSS_SELECTOR, "#step-1 .changed")  # `ls` changed nothing
        plot = browser.find_element(By.CSS_SELECTOR, "svg.score-timeline")
        marks = plot.find_elements(By.CSS_SELECTOR, ".evaluation")
        assert [(m.get_attribute("data-step"), m.get_attribute("data-action"),
                 float(m.get_attribute("data-score"))) for m in marks] == [
            ("4", "validate", 0.95), ("5", "submit", 0.95)]
        baseline = plot.find_element(By.CSS_SELECTOR, ".baseline")
        assert float(baseline.get_attribute("data-baseline")) == 0.925
        best = plot.find_element(By.CSS_SELECTOR, ".best-so-far")
        assert float(best.get_attribute("data-best")) == 0.95
        costs = browser.find_elements(By.CSS_SELECTOR, "svg.cost-plot .bar")
        assert len(costs) == 5 and all(float(c.get_attribute("data-value")) > 0 for c in costs)
        evaluation = browser.find_element(By.CSS_SELECTOR, '#step-4 .evaluation')
        assert "split test" in evaluation.text and "accuracy 0.95" in evaluation.text
        browser.save_screenshot(str(screenshots / "viewer-episode.png"))

        # compared with the baseline agent's episode
        baseline_row = next(r for r in index.rows if r.method == "baseline")
        Select(browser.find_element(By.ID, "compare-with")).select_by_value(baseline_row.id)
        browser.find_element(By.ID, "compare").click()
        assert browser.find_element(By.CSS_SELECTOR, "#side-a .submission").text == "0.95"
        assert browser.find_element(By.CSS_SELECTOR, "#side-b .submission").text == "0.925"
        assert len(browser.find_elements(By.CSS_SELECTOR, "svg.score-timeline")) == 2
        pair = browser.find_elements(By.CSS_SELECTOR, ".pair")[0]
        assert [s.get_attribute("data-step") for s in pair.find_elements(By.CSS_SELECTOR, ".step")] == ["1", "1"]
        browser.save_screenshot(str(screenshots / "viewer-compare.png"))

        # the version 1 trajectory opens: scores, and no diffs to show
        old = next(r for r in index.rows if r.trajectory and "/old/" in r.trajectory)
        browser.get(viewer.url + f"episode/{old.id}")
        assert browser.find_element(By.ID, "submission").text == "0.95"
        assert browser.find_element(By.ID, "no-changes-recorded").is_displayed()
        assert len(browser.find_elements(By.CSS_SELECTOR, ".step")) == 5
    for name in ("viewer-runs.png", "viewer-episode.png", "viewer-compare.png"):
        assert Path(screenshots / name).stat().st_size > 10_000
