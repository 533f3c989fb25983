"""The HTML report in a real headless browser (Debian's chromium, driven by Selenium).

Checks what a reader sees: the page loads from a file with no console errors, every figure
decodes and has a size, the findings are on the page, user text stays text, and a screenshot
shows the rendered page (header colour where the style sheet puts it, not a blank frame).

Needs ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (``.ci/run`` installs them with
apt); without them the tests skip on a developer machine and fail under CI.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from charact.samples import Catalog, init_project
from charact.samples.report import write_report
from tests.conftest import write_manifest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).is_file()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test needs {', '.join(missing)} (.ci/run installs them)")
        pytest.skip(f"no headless browser here ({', '.join(missing)} missing)")
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1600",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def _severe(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_report_renders_in_a_browser(browser, analysed_demo, tmp_path):
    from PIL import Image

    with Catalog(analysed_demo["root"]) as cat:
        out = write_report(cat, tmp_path / "report.html")
    browser.get(out.as_uri())
    assert browser.title == "charact report: charact-demo"
    assert _severe(browser) == []
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
    )
    assert len(images) >= 20
    broken = [alt for ok, width, alt in images if not (ok and width > 100)]
    assert broken == []
    findings = browser.execute_script(
        "return Array.from(document.querySelectorAll('ul.findings li')).map(li => li.innerText)"
    )
    assert any("crystalline Si no longer detected in MSiC-C500" in f for f in findings)
    assert any("LiF share of MSiC-C500" in f for f in findings)
    # Screenshot: a real rendering, with the header where the style sheet draws it.
    png = browser.get_screenshot_as_png()
    (tmp_path / "report.png").write_bytes(png)
    shot = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    assert shot.shape[0] > 500 and shot.shape[1] > 800
    assert np.abs(shot[10, 10] - np.array([0x1F, 0x3B, 0x57])).max() <= 3  # header #1f3b57
    body = shot[200:, :]
    assert body.std() > 10  # text, tables and figures, not a blank page
    # The navigation links jump to each sample's page.
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))"
    )
    for href in links:
        assert browser.execute_script(f"return document.querySelector('{href}') !== null")


def test_user_text_stays_text_in_the_browser(browser, tmp_path):
    root = init_project(tmp_path / "p")
    evil = "<script>document.title='owned'</script><img src=x onerror=\"document.title='x'\">"
    write_manifest(root, [{"sample_id": "S1", "description": evil}, {"sample_id": "S2"}])
    with Catalog(root) as cat:
        cat.ingest()
        out = write_report(cat, tmp_path / "r.html")
    browser.get(out.as_uri())
    assert browser.title == "charact report: p"
    assert browser.execute_script("return document.scripts.length") == 0
    assert evil in browser.find_element("id", "sample-S1").text
    assert _severe(browser) == []
