"""End to end in a real browser: streamlit run app.py, driven by Playwright in Debian's chromium.

Screenshots of every page are saved in screenshots/ (see the README). The test skips when
no chromium is installed, except in CI (CI=true), where it fails instead.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "screenshots"
PAGES = {
    "estimate": "Expected to practice",
    "compare": "Every payer's claim lines",
    "forecast": "Monthly by payer",
    "fee-schedule": "2025 to 2026: what changed",
    "remittances": "Remittances",
    "payers": "Export all (YAML)",
    "practice": "Save the practice",
    "data": "Import a CMS file",
}
SIZES = {"1280x800": (1280, 800), "1920x1080": (1920, 1080)}  # the screens the pages are checked on

pytestmark = pytest.mark.slow

if not CHROMIUM.exists() or not __import__("importlib").util.find_spec("playwright"):
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the browser test: install chromium (apt) and playwright (pip)", pytrace=False)
    pytest.skip("no /usr/bin/chromium or playwright here", allow_module_level=True)

from openpyxl import load_workbook  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    env = os.environ | {"TPI_ESTIMATOR_DATA": str(tmp_path_factory.mktemp("browser-data"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("streamlit did not start")
    yield url
    process.terminate()
    process.wait(20)


@pytest.fixture(scope="module")
def browser_page():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 2400}, accept_downloads=True)
        yield page
        browser.close()


def open_page(page, server, name):
    """Open a page and wait until its last element is drawn."""
    page.goto(f"{server}/{'' if name == 'estimate' else name}")  # the default page lives at /
    expect(page.get_by_text(PAGES[name]).first).to_be_visible(timeout=60_000)


def test_estimate_change_payer_download_and_screenshots(server, browser_page):
    page = browser_page
    SHOTS.mkdir(exist_ok=True)
    open_page(page, server, "estimate")
    expect(page.get_by_text("Expected to practice")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("$50.21").first).to_be_visible()  # 20552 47.25 + J3301 2.96, Alabama 2026-03-02

    open_page(page, server, "practice")
    page.get_by_label("Practice name").fill("Browser Test Clinic")
    page.get_by_label("Practice name").press("Enter")
    page.get_by_role("button", name="Save the practice").click()
    expect(page.get_by_text("Saved Browser Test Clinic")).to_be_visible(timeout=30_000)

    open_page(page, server, "payers")
    name = page.get_by_label("Payer name")
    name.fill("Browser Test PPO")
    page.get_by_label("Percent (of Medicare or of charges)").fill("140")
    page.get_by_label("Percent (of Medicare or of charges)").press("Enter")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved Browser Test PPO")).to_be_visible(timeout=30_000)

    open_page(page, server, "compare")
    expect(page.get_by_text("Browser Test PPO").first).to_be_visible(timeout=60_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = SHOTS / "payer_comparison.csv"
    download.value.save_as(saved)
    lines = pd.read_csv(saved, dtype=str)
    mine = lines[lines["payer"] == "Browser Test PPO"]
    allowed = sum(Decimal(v) for v in mine["allowed"])
    expect(
        page.get_by_text(f"${allowed:,.2f}").first
    ).to_be_attached()  # the download's lines add up to the total shown (in the grid)

    page.get_by_role("button", name="Build the Excel model").click()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download the Excel model").click()
    model = SHOTS / "tpi_estimate.xlsx"
    download.value.save_as(model)
    workbook = load_workbook(model)
    assert "Browser Test PPO" in [c.value for c in workbook["Assumptions"]["A"]]

    open_page(page, server, "forecast")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    forecast = SHOTS / "forecast.csv"
    download.value.save_as(forecast)
    months = pd.read_csv(forecast, dtype=str)
    assert {"collected", "cost", "margin"} <= set(months.columns) and "Browser Test PPO" in set(months["payer"])

    open_page(page, server, "remittances")
    x12 = ROOT / "tests" / "fixtures" / "x12"
    page.locator("input[type=file]").set_input_files([str(x12 / "tpi_remittance.835"), str(x12 / "tpi_claims.837")])
    page.get_by_role("button", name="Reconcile").click()
    expect(page.get_by_text("Payer scorecard")).to_be_visible(timeout=60_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download worklist (CSV)").click()
    worklist = SHOTS / "worklist.csv"
    download.value.save_as(worklist)
    lines = pd.read_csv(worklist, dtype=str, keep_default_na=False)
    downcode = lines[lines["claim_id"] == "C1004"].iloc[0]  # billed 20553, paid as 20552: see tests/test_remittance.py
    assert len(lines) == 13 and (downcode["status"], downcode["variance"]) == ("underpaid", "-5.72")
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "remittances-worked.png"), full_page=True)

    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for name in PAGES:
            open_page(page, server, name)
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
    assert all((SHOTS / f"{name}-{size}.png").stat().st_size > 10_000 for name in PAGES for size in SIZES)
