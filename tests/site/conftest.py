"""Fixtures for the browser test of the built website (``make test-site``).

The pages are those of ``_build/html`` (built by ``make book`` or ``make test-build``),
found on disk, so the test follows the table of contents without naming chapters. Each
page is visited once, in Debian's headless Chromium with every non-local request aborted
(see ``sitetools.visit``); the tests judge the report of that visit. Chromium is installed
by ``scripts/install_chromium.sh`` when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from sitetools import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    ROOT,
    SCREENSHOTS,
    SITE,
    VIEWPORTS,
    LayoutReport,
    PageReport,
    site_pages,
    visit,
    visit_layout,
)

INSTALL_SCRIPT = ROOT / "scripts" / "install_chromium.sh"
HOW_TO_INSTALL = (
    "The browser test needs Debian's Chromium at /usr/bin/chromium. Install it as root with\n"
    "    apt-get update && apt-get install -y chromium\n"
    "(or run scripts/install_chromium.sh, which does that), then run `make test-site` again."
)
NO_SITE = "<no built site>"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give every test that takes ``page`` one run per page of the built site.

    With no site built there is a single run that fails, saying how to build it (an empty
    parameter list would only be skipped).
    """
    if "page" in metafunc.fixturenames:
        metafunc.parametrize("page", site_pages() or [NO_SITE])
    if "viewport" in metafunc.fixturenames:
        metafunc.parametrize("viewport", list(VIEWPORTS))


@pytest.fixture(scope="session")
def site() -> None:
    """Fail unless the website has been built into _build/html."""
    if not (SITE / "index.html").is_file():
        pytest.fail(f"No built website in {SITE}: run `make book` (or `make test-build`) first.")


def _ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False
    )
    if not CHROMIUM.exists():
        output = (result.stdout + result.stderr).strip().splitlines()[-15:]
        pytest.fail(
            f"{HOW_TO_INSTALL}\nInstalling it automatically failed (exit {result.returncode}):\n"
            + "\n".join(output),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium driven by Playwright, installed first if missing."""
    _ensure_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder for this run's screenshots, emptied of the last run's."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def visit_page(site: None, browser: Browser, screenshots: Path) -> Callable[[str], PageReport]:
    """``visit_page(name)``: the report of one visit to page ``name`` (visited once per run)."""
    reports: dict[str, PageReport] = {}

    def get(name: str) -> PageReport:
        if name not in reports:
            reports[name] = visit(browser, name)
        return reports[name]

    return get


@pytest.fixture
def report(page: str, visit_page: Callable[[str], PageReport]) -> PageReport:
    """The report of the visit to this test's page."""
    if page == NO_SITE:
        pytest.fail(f"No pages in {SITE}: run `make book` (or `make test-build`) first.")
    return visit_page(page)


@pytest.fixture(scope="session")
def visit_layout_of(
    site: None,
    browser: Browser,
    screenshots: Path,
    visit_page: Callable[[str], PageReport],
) -> Callable[[str, str], LayoutReport]:
    """``visit_layout_of(name, viewport)``: page ``name`` measured at one screen size (once;
    the desktop's measurements come from the page's main visit)."""
    reports: dict[tuple[str, str], LayoutReport] = {}

    def get(name: str, viewport: str) -> LayoutReport:
        if viewport == "desktop":
            return visit_page(name).layout
        if (name, viewport) not in reports:
            reports[name, viewport] = visit_layout(browser, name, viewport)
        return reports[name, viewport]

    return get


@pytest.fixture
def layout(
    page: str, viewport: str, visit_layout_of: Callable[[str, str], LayoutReport]
) -> LayoutReport:
    """This test's page at this test's screen size."""
    if page == NO_SITE:
        pytest.fail(f"No pages in {SITE}: run `make book` (or `make test-build`) first.")
    return visit_layout_of(page, viewport)
