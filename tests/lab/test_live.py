"""The live view of a tiny lab, in a real headless browser (Chromium through
Selenium): the page shows every client, /api/state agrees with
``anycastlab catchment``, and after a cut the PoP shown for the moved client
(c2: New York -> London) changes. A screenshot is saved with the test output
($ANYCASTLAB_TEST_OUTPUT, else the test's tmp folder). Skipped, with the
reason, only where Chromium or its driver cannot be had."""
from __future__ import annotations

import json
import os
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest

from anycastlab.live.view import LiveView
from anycastlab.measure import catchment
from anycastlab.model import events
from labutil import wait_for

pytestmark = pytest.mark.lab


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (run 'sudo make setup')")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Chromium or chromedriver is not installed and could not be "
                    "(scripts/setup.sh installs Debian's chromium and chromium-driver)")
    opts = Options()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1500"):
        opts.add_argument(a)
    return webdriver.Chrome(options=opts, service=Service(driver))


def cable(kind: str, lab):
    ev = events.resolve({"kind": kind, "between": ["nyc", "lon"]}, lab.topo, list(lab.plan.services.provider_prefixes))
    events.apply(lab, ev)


def complete(state: dict) -> bool:
    return all(len(c["schemes"]) == len(state["schemes"]) and all(v["pop"] for v in c["schemes"].values())
               for c in state["clients"].values())


def test_live_page_follows_the_lab_through_a_cut(lab, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    drv = browser()
    view = LiveView(lab, free_port()).start()
    out = Path(os.environ.get("ANYCASTLAB_TEST_OUTPUT", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    try:
        wait_for(lambda: complete(get(view.url + "api/state")), timeout=30, what="every client's PoPs")
        # /api/state agrees with 'anycastlab catchment' (both measured now, by probes)
        state = get(view.url + "api/state")
        for row in catchment.measure(lab):
            shown = state["clients"][row["client"]]["schemes"]
            assert shown["global"]["pop"] == row["schemes"]["global"]["pop"], row["client"]
            for k in lab.plan.services.provider_prefixes:
                assert shown[f"provider:{k}"]["pop"] == row["schemes"][k]["pop"], (row["client"], k)
        drv.get(view.url)
        # the page redraws every second: read and click in one script call, never a stale element
        cell = lambda c: drv.execute_script(  # noqa: E731
            f'const e = document.querySelector(\'#row-{c} td[data-scheme="global"]\'); return e && e.textContent;')
        WebDriverWait(drv, 20).until(lambda d: all(d.find_elements(By.ID, f"row-{c}") for c in ("c1", "c2", "c3")))
        assert len(drv.find_elements(By.CSS_SELECTOR, "tr.client")) == 3
        WebDriverWait(drv, 20).until(lambda d: cell("c2") == "nyc")
        drv.execute_script("document.getElementById('row-c2').click();")  # BGP's decision for c2, from the routers
        WebDriverWait(drv, 20).until(lambda d: "answered by PoP nyc" in d.find_element(By.ID, "explain").text)
        cable("cut", lab)
        WebDriverWait(drv, 30).until(lambda d: cell("c2") == "lon")
        assert "cut nyc" in drv.find_element(By.ID, "events").text
        shot = out / "live-tiny-after-cut.png"
        drv.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        print(f"screenshot: {shot}")
    finally:
        drv.quit()
        cable("restore", lab)
        view.stop()
        lab.wait_converged(lab.converge_timeout)
    live = [d for d in lab.record.daemons() if d.name == "live"]
    assert live and not any(d.alive() for d in live)      # its probe stream is gone
    with socket.socket() as s:                              # and nothing listens on its port
        assert s.connect_ex(("127.0.0.1", view.port)) != 0
