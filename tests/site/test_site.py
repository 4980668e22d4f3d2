"""The built website works offline and shows what the book promises, checked in Chromium.

Each page of ``_build/html`` is opened from its file with every request off the machine
aborted (``sitetools.offline_page``), so a page that typesets its math, loads its images
and logs no error here needs no network. Screenshots land in ``_build/screenshots/``.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser
from sitetools import (
    ROOT,
    SITE,
    VIEWPORT,
    WHITE,
    LayoutReport,
    PageReport,
    offline_page,
    resolve_link,
    site_pages,
    static_page,
)

# The configuration the site was built with: `make book` writes it from _config.yml and the
# REPOSITORY_URL setting (scripts/book_config.py); a plain `jupyter-book build .` uses
# _config.yml itself.
BUILT_CONFIG = ROOT / "_build" / "_config.yml"
CONFIG = yaml.safe_load(
    (BUILT_CONFIG if BUILT_CONFIG.is_file() else ROOT / "_config.yml").read_text(encoding="utf-8")
)
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
REPOSITORY = CONFIG["repository"].get("url", "").rstrip("/")
BRANCH = CONFIG["repository"]["branch"]
LAUNCH = CONFIG["launch_buttons"]
LAUNCH_SERVICES = ("binderhub_url", "colab_url")
LAUNCH_HOSTS = {"binderhub_url": "mybinder.org", "colab_url": "colab.research.google.com"}
FIRST_YEAR = 2026  # the book's first year: its copyright cannot be older
SEARCH_TERM = "mixture"  # a word every version of this book uses
#: Searches whose first result must be a given page: the chapter about the word.
SEARCH_RANKING = {"bic": "book/model_selection.html"}
#: What must fit its column on each screen. On a phone, code and output blocks scroll inside
#: their own box (a line of 80 characters cannot fit 390 px), and so do wide tables; the page
#: itself and every equation must fit. On a desktop everything must.
MUST_FIT = {
    "phone": {"page", "equation"},
    "desktop": {"page", "equation", "code", "output", "table"},
}
SOURCE_SUFFIXES = (".ipynb", ".md")


def toc_files(entry: dict | None = TOC) -> list[str]:
    """Every document named in the table of contents, root first (``"book/preface"``)."""
    files = [entry["root"]] if "root" in entry else []
    if "file" in entry:
        files.append(entry["file"])
    for key in ("parts", "chapters", "sections"):
        for child in entry.get(key, []):
            files.extend(toc_files(child))
    return files


def source_of(name: str) -> Path | None:
    """The repository file page ``name`` was built from, or ``None`` (search, index)."""
    stem = ROOT / name.removesuffix(".html")
    for suffix in SOURCE_SUFFIXES:
        if stem.with_suffix(suffix).is_file():
            return stem.with_suffix(suffix)
    return None


def listing(items) -> str:
    return "\n  " + "\n  ".join(map(str, items))


# --- the site as a whole ---------------------------------------------------------------


def test_site_has_pages_search_and_index(site: None) -> None:
    pages = site_pages()
    assert "search.html" in pages and "genindex.html" in pages, f"pages found: {pages}"


def test_every_toc_document_has_a_page(site: None) -> None:
    documents = toc_files()
    written = [doc for doc in documents if source_of(doc + ".html")]
    assert documents[0] in written, f"the root page {documents[0]} has no source file"
    missing = [doc for doc in written if not (SITE / f"{doc}.html").is_file()]
    assert not missing, f"in _toc.yml and in the repository but not built:{listing(missing)}"


def test_book_has_notebook_pages(site: None) -> None:
    notebooks = [p for p in site_pages() if (source_of(p) or Path()).suffix == ".ipynb"]
    assert notebooks, "no page is built from a notebook, so no launch button could be checked"


def test_requests_off_the_machine_are_blocked(browser: Browser) -> None:
    """The guard under every page visit aborts network requests: those visits prove offline-ness."""
    with offline_page(browser) as (page, log):
        outcome = page.evaluate(
            "() => fetch('https://example.org/').then(() => 'loaded', () => 'failed')"
        )
    assert outcome == "failed"
    assert log.blocked == ["https://example.org/"]


def test_front_page_opens_the_book(site: None, browser: Browser) -> None:
    front = SITE / "index.html"
    redirect = static_page(front).redirect
    with offline_page(browser) as (page, log):
        page.goto(front.as_uri())
        if redirect is not None:
            target = (front.parent / redirect).resolve()
            assert target.is_file(), f"index.html redirects to a missing {redirect}"
            page.wait_for_url(target.as_uri(), timeout=10_000)
        assert page.locator("article h1").count() >= 1, "the front page has no title"
    assert not log.errors and not log.blocked, listing(log.errors + log.blocked)


def test_front_page_has_a_title_and_the_pages_an_icon(site: None) -> None:
    front = (SITE / "index.html").read_text(encoding="utf-8")
    title = re.search(r"<title>([^<]*)</title>", front)
    assert title and title.group(1).strip() == CONFIG["title"], "index.html has no title"
    first = (SITE / f"{toc_files()[0]}.html").read_text(encoding="utf-8")
    icon = re.search(r'<link rel="icon" href="([^"]+)"', first)
    assert icon, "the pages have no favicon"
    assert resolve_link(SITE / f"{toc_files()[0]}.html", icon.group(1))[0].is_file()
    assert 'href="../genindex.html"' in first, "the general index is linked from no page"


def test_bibliography_labels_read_like_the_citations(site: None) -> None:
    """The text cites "[Bishop, 2006]": the list must label the entry the same way."""
    page = (SITE / "book" / "bibliography.html").read_text(encoding="utf-8")
    labels = re.findall(r'<span class="label"><span class="fn-bracket">\[</span>(.*?)<span', page)
    assert labels, "no labelled entries in the bibliography"
    odd = [label for label in labels if not re.fullmatch(r".+, \d{4}[a-z]?", label)]
    assert not odd, f"labels that are not 'Author, year':{listing(odd)}"
    cited = set()
    for name in site_pages():
        text = (SITE / name).read_text(encoding="utf-8")
        cited |= set(re.findall(r'bibliography\.html#id\d+"[^>]*>([^<]+, \d{4}[a-z]?)</a>', text))
    assert cited, "no author-year citation found in the pages"
    unknown = sorted(cited - set(labels))
    assert not unknown, f"citations whose label the bibliography does not use:{listing(unknown)}"


def test_search_works_offline(site: None, browser: Browser, screenshots: Path) -> None:
    """Type a word into the search box of the first page, press Enter, get results."""
    first = SITE / f"{toc_files()[0]}.html"
    with offline_page(browser) as (page, log):
        page.goto(first.as_uri())
        page.locator(".search-button__button:visible").first.click()
        box = page.locator("input[name='q']:visible")
        box.fill(SEARCH_TERM)
        box.press("Enter")
        page.wait_for_url(re.compile(r"/search\.html\?q="), timeout=10_000)
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=20_000)
        hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
        page.screenshot(path=screenshots / "search-results.png", full_page=True)
    assert hrefs, f"searching for {SEARCH_TERM!r} found nothing"
    unresolved = [h for h in hrefs if not resolve_link(SITE / "search.html", h)[0].is_file()]
    assert not unresolved, f"search results pointing at no page:{listing(unresolved)}"
    assert not log.errors and not log.blocked, listing(log.errors + log.blocked)


def search_results(browser: Browser, query: str) -> tuple[list[dict], list[str]]:
    """The results of searching the site for ``query``: link, title, excerpt; and errors."""
    with offline_page(browser) as (page, log):
        page.goto((SITE / "search.html").as_uri() + f"?q={query}")
        page.locator("#search-status, .search-summary").first.wait_for(timeout=20_000)
        page.wait_for_function(
            "() => document.querySelector('.search-summary')?.innerText.length > 0",
            timeout=20_000,
        )
        page.wait_for_timeout(500)  # the excerpts are added as the results appear
        results = page.evaluate(
            """() => [...document.querySelectorAll('#search-results ul.search > li')].map(li => ({
                 href: li.querySelector('a').getAttribute('href'),
                 title: li.querySelector('a').textContent.trim(),
                 excerpt: (li.querySelector(':scope > p.context') || {}).textContent || '',
                 description: (li.querySelector(':scope > span') || {}).textContent || ''}))"""
        )
    return results, log.errors + log.blocked


@pytest.mark.parametrize("query", [SEARCH_TERM, *SEARCH_RANKING])
def test_search_results_have_excerpts_and_no_repeats(
    site: None, browser: Browser, query: str
) -> None:
    """Offline, every result shows an excerpt (or its object's description); none repeats."""
    results, errors = search_results(browser, query)
    assert results, f"searching for {query!r} found nothing"
    assert not errors, listing(errors)
    bare = [r["title"] for r in results if not (r["excerpt"] or r["description"])]
    assert not bare, f"results with no excerpt:{listing(bare)}"
    keys = [(r["href"].split("#")[0], r["title"]) for r in results]
    repeats = sorted({key for key in keys if keys.count(key) > 1})
    assert not repeats, f"results listed more than once:{listing(repeats)}"
    words = [w for w in re.split(r"\W+", query.lower()) if w]
    missing = [
        r["title"]
        for r in results
        if r["excerpt"] and not any(w in r["excerpt"].lower() for w in words)
    ]
    assert not missing, f"excerpts without the word searched for:{listing(missing)}"


@pytest.mark.parametrize("query", SEARCH_RANKING)
def test_search_ranks_the_chapter_about_the_word_first(
    site: None, browser: Browser, query: str
) -> None:
    results, _ = search_results(browser, query)
    first = results[0]["href"].split("#")[0] if results else None
    expected = SEARCH_RANKING[query]
    assert first == expected, (
        f"searching for {query!r}: first result {first}, expected {expected}; all:"
        + listing(r["title"] for r in results[:5])
    )


# --- every page, on a phone and on a desktop -------------------------------------------


def _overflow(item: dict) -> str:
    where = f" under {item['where']}" if item["where"] else ""
    return (
        f"{item['kind']}{where}: {item['width']} px in a column of {item['column']} px: "
        f"{item['text']}"
    )


def test_nothing_is_wider_than_its_column(layout: LayoutReport) -> None:
    """No page, equation (or, on a desktop, code block, output or table) needs sideways
    scrolling. An equation that fails is broken over lines with ``aligned`` in its
    chapter; a code line is kept to about 80 characters (CONTRIBUTING.md)."""
    wide = [item for item in layout.overflows if item["kind"] in MUST_FIT[layout.viewport]]
    assert not wide, f"wider than the column on a {layout.viewport}:" + listing(
        map(_overflow, wide)
    )


def test_sidebars_open_from_the_visible_buttons(layout: LayoutReport) -> None:
    assert not layout.sidebars, f"on a {layout.viewport}:{listing(layout.sidebars)}"


def test_no_console_errors_on_any_screen(layout: LayoutReport) -> None:
    assert not (layout.log.errors or layout.log.blocked), listing(
        layout.log.errors + layout.log.blocked
    )


# --- every page ------------------------------------------------------------------------


def test_math_is_typeset_offline(report: PageReport) -> None:
    if report.math_elements:
        assert report.mathjax_version and report.mathjax_version.startswith("4."), (
            f"{report.math_elements} math elements but MathJax 4 never started "
            "(is book/_vendor/mathjax in html_static_path?)"
        )
        assert not report.untypeset_math, f"math left as TeX:{listing(report.untypeset_math)}"
        assert not report.math_errors, f"TeX errors:{listing(report.math_errors)}"
        fonts = report.mathjax_fonts
        assert fonts, "MathJax declared no fonts"
        failed = [face for face, status in fonts.items() if status != "loaded"]
        assert not failed, f"MathJax fonts that did not load from the site: {failed}"
    assert not report.raw_tex, f"raw TeX in the page's text:{listing(report.raw_tex)}"


def test_images_load(report: PageReport) -> None:
    broken = [image["src"] for image in report.images if image["width"] == 0]
    assert not broken, f"images that did not load:{listing(broken)}"


def test_images_have_alt_text(report: PageReport) -> None:
    """Every image, the frames of an animation included, says what it shows (alt text:
    cell metadata for a figure, CONTRIBUTING.md). Read from the built file."""
    html = report.path.read_text(encoding="utf-8")
    article = html[html.find("<article") : html.find("</article>")]
    missing = [
        tag[:120]
        for tag in re.findall(r"<img\b[^>]*>", article)
        if not re.search(r'\balt="[^"]+"', tag)
    ]
    assert not missing, f"images without alt text:{listing(missing)}"


def test_internal_links_resolve(report: PageReport) -> None:
    assert not report.broken_links, f"broken links:{listing(report.broken_links)}"


def test_no_console_errors(report: PageReport) -> None:
    assert not report.log.errors, listing(report.log.errors)


def test_needs_no_network(report: PageReport) -> None:
    assert not report.log.blocked, f"requests that need a network:{listing(report.log.blocked)}"


def test_dark_mode_keeps_figures_readable(report: PageReport) -> None:
    assert report.dark_theme == "dark", "the page ignored the reader's dark-mode preference"
    unreadable = [
        image
        for image in report.dark_images
        if image["background"] != WHITE or image["filter"] != "none"
    ]
    assert not unreadable, f"figures not shown on white, undimmed:{listing(unreadable)}"


def test_screenshots_are_saved(report: PageReport) -> None:
    for path in report.screenshots:
        header = path.read_bytes()[:24]
        assert header.startswith(b"\x89PNG"), f"{path} is not a PNG"
        width = int.from_bytes(header[16:20], "big")
        assert width == VIEWPORT["width"], f"{path} is {width} px wide"


def test_footer_shows_copyright(report: PageReport) -> None:
    copyright = str(CONFIG["copyright"])
    assert f"Copyright {copyright}" in report.footer, f"footer: {report.footer!r}"
    year = int(re.search(r"\d{4}", copyright).group())
    assert FIRST_YEAR <= year <= datetime.date.today().year, f"copyright year {year}"


def test_repository_download_and_launch_buttons(report: PageReport) -> None:
    hrefs = [anchor["href"] for anchor in report.anchors]
    if REPOSITORY:
        assert REPOSITORY in hrefs, "no repository button"
    else:  # not published: no button may lead to a repository that does not exist
        buttons = [
            anchor["href"]
            for anchor in report.anchors
            if anchor["label"] in ("Source repository", "Launch on Binder", "Launch on Colab")
            or any(host in anchor["href"] for host in LAUNCH_HOSTS.values())
        ]
        assert not buttons, f"repository or launch buttons without a repository: {buttons}"
    source = source_of(report.name)
    if source is None:  # search and index pages have no source to download or launch
        return
    downloads = [h for h in hrefs if "_sources/" in h]
    assert downloads, "no download button"
    for href in downloads:
        assert resolve_link(report.path, href)[0].is_file(), f"download {href} is missing"
    if source.suffix != ".ipynb":
        return
    notebook = [h for h in downloads if h.endswith(".ipynb")]
    assert len(notebook) == 1, f"one .ipynb download expected, got {notebook}"
    content = json.loads(resolve_link(report.path, notebook[0])[0].read_text(encoding="utf-8"))
    assert content.get("cells"), "the downloadable notebook has no cells"
    if not REPOSITORY:
        return

    org_repo = REPOSITORY.removeprefix("https://github.com/")
    path = source.relative_to(ROOT).as_posix()
    binder = f"{LAUNCH['binderhub_url']}/v2/gh/{org_repo}/{BRANCH}?urlpath=tree/{path}"
    colab = f"{LAUNCH['colab_url']}/github/{org_repo}/blob/{BRANCH}/{path}"
    assert binder in hrefs, f"no Binder button to {binder}"
    assert colab in hrefs, f"no Colab button to {colab}"


def test_chapters_say_how_to_run_them(report: PageReport) -> None:
    """Every notebook page tells the reader how to get the notebook and gmmlib and run it."""
    source = source_of(report.name)
    html = report.path.read_text(encoding="utf-8")
    note = re.search(r'<details class="gmm-run-chapter">(.*?)</details>', html, re.S)
    if source is None or source.suffix != ".ipynb":
        assert note is None, "a 'Run this chapter' note on a page that is not a notebook"
        return
    assert note, "no 'Run this chapter yourself' note"
    text = note.group(1)
    assert "make lab" in text and source.relative_to(ROOT).as_posix() in text
    if REPOSITORY:
        assert f"git clone {REPOSITORY}" in text and f"git+{REPOSITORY}@{BRANCH}" in text
    else:
        assert "github.com" not in text, "a repository named in the note, but none is set"


def test_launch_services_match_the_repository_setting() -> None:
    configured = [key for key in LAUNCH_SERVICES if LAUNCH.get(key)]
    if not REPOSITORY:
        assert not configured, f"launch buttons without a repository: {configured}"
        return
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPOSITORY), REPOSITORY
    for key in LAUNCH_SERVICES:
        assert re.fullmatch(r"https://[a-z0-9.-]+", LAUNCH.get(key, "")), (
            f"{key}: {LAUNCH.get(key)!r}"
        )
