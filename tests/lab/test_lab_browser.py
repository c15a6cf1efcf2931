"""`make test-lab`: the analyst's path in headless Chromium (Debian's package, driven by Playwright).

The lab starts on the demo exactly as `make lab` starts it (demo-env, then ``python -m auditbook.lab``), headless,
on a free port with a token; CC8.1 is opened, Run All, and the rendered page must show the result banner, a
deviations table and the GraphQL query's ``$owner`` as text (not typeset as math); an ``explore.person`` cell
runs on the session's own run. Screenshots go to AUDITBOOK_LAB_SHOTS. The tracked notebooks are unchanged after.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUN_ALL_SECONDS = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--", "lib/auditbook/notebooks"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = Path(os.environ.get("AUDITBOOK_LAB_SHOTS") or REPO / "outputs" / "test-lab")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def lab(shots: Path):
    """The lab on the demo: (base URL, token, outputs folder); stopped with one SIGINT pair as a user would."""
    port, token = _free_port(), secrets.token_hex(16)
    out = REPO / "outputs" / f"test-lab-{os.getpid()}"
    env = {**os.environ, "AUDITBOOK_OUT": str(out)}
    env.pop("AUDITBOOK_PARAMS", None)
    log = (shots / "jupyter.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "auditbook.cli", "demo-env", "--", os.environ["AUDITBOOK_LAB_PYTHON"], "-m",
         "auditbook.lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the lab did not start: see {shots / 'jupyter.log'}") from None
            time.sleep(0.5)
    yield base, token, out
    os.killpg(server.pid, signal.SIGINT)  # Ctrl-C in the terminal, twice: Jupyter's own shutdown
    time.sleep(0.5)
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    log.close()
    shutil.rmtree(out, ignore_errors=True)  # the analyst's copies and run: the screenshots stay


def _shoot(page: Page, path: Path) -> None:
    """A screenshot once the notebook has drawn what was scrolled to (it renders cells as they come into view)."""
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))


def _run_cell(page: Page, code: str) -> None:
    """A new cell at the end of the notebook, typed and run."""
    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)  # as pasted: no bracket or quote closing by the editor
    page.keyboard.press("Shift+Enter")


def test_cc81_run_all_in_chromium(lab, shots: Path):
    base, token, out = lab
    before = _git_status()
    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="chromium-profile-"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            page = browser.new_page()
            rel = out.relative_to(REPO).as_posix()
            page.goto(f"{base}/lab/tree/{rel}/notebooks/CC8.1.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)  # the kernel is up
            tab = page.locator(".lm-TabBar-tab.lm-mod-current[data-type='document-title']")
            settled = time.monotonic() + 10  # the kernel's metadata arrives just after it is idle
            while "jp-mod-dirty" in (tab.get_attribute("class") or "") and time.monotonic() < settled:
                time.sleep(0.25)
            assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), "the tab is marked unsaved on open"
            _shoot(page, shots / "1-opened.png")
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            page.wait_for_selector(".ab-appendix", timeout=RUN_ALL_SECONDS * 1000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            ran = time.monotonic() - started

            summary = page.locator(".ab-summary h2").first
            assert summary.inner_text().startswith("CC8.1 result:")
            summary.scroll_into_view_if_needed()
            _shoot(page, shots / "2-result-banner.png")
            deviations = page.locator(".ab-test h4:text-is('Deviations') + table.ab-table").first
            assert deviations.locator("tbody tr").count() >= 1
            deviations.scroll_into_view_if_needed()
            _shoot(page, shots / "3-deviations.png")
            query = page.locator(".ab-appendix pre.ab-query").first
            assert "$owner" in query.inner_text() and "$baseRefName" in query.inner_text()
            assert page.locator(".jp-OutputArea mjx-container").count() == 0, "evidence typeset as math"
            query.scroll_into_view_if_needed()
            _shoot(page, shots / "4-query-text.png")
            assert page.get_by_text("This run's files:").count() == 1

            _run_cell(page, 'from auditbook import explore; explore.person(explore.open_package(), "dan.dev")')
            trail = page.locator(".jp-OutputArea h4", has_text="/scratch/CC8.1-").last  # the session's own run
            trail.wait_for(timeout=60_000)
            assert trail.inner_text().startswith("dan.dev (")  # with the aliases from the HR roster
            trail.scroll_into_view_if_needed()
            _shoot(page, shots / "5-explore-person.png")
            page.keyboard.press("Control+s")
            time.sleep(1)
        finally:
            page.screenshot(path=str(shots / "last.png"))
            browser.close()
    print(f"\nCC8.1 opened and Run All done in {ran:.1f} s")
    assert _git_status() == before, "the lab changed a tracked notebook"
