"""Helpers for the browser test of the built website: find its pages, read them, visit them.

A visit opens a page of ``_build/html`` from its file in headless Chromium with every
request that is not for a local file aborted, waits for MathJax and the images, and
gathers what the tests check into a :class:`PageReport`: the state of the math, the images,
the links, the console, the dark mode and the buttons. It also saves a light and a dark
screenshot of the page under ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"

#: Debian's Chromium and the flags it runs with; Playwright drives it, it never downloads one.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
#: The screens every page is checked on: a phone (below the themes' 992 px breakpoint, where
#: both sidebars are drawers opened from the article header's buttons) and a desktop.
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": VIEWPORT}

#: URL schemes a page may load from: everything else would need a network.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
#: TeX left in the prose of a page, which means the math was not typeset (or not even
#: parsed as math): a control word (``\mathcal``), a math delimiter (``\(``, ``\]``,
#: ``$$``), or ``$...$`` around text that does not start or end with a space.
RAW_TEX = re.compile(r"\\[A-Za-z]+|\\[()\[\]]|\$\$|\$(?=\S)[^$\n]{1,200}?(?<=\S)\$")
WHITE = "rgb(255, 255, 255)"

# The text a reader sees, less code (which may legitimately hold TeX) and typeset math.
_VISIBLE_TEXT_JS = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll(
      'pre, code, script, style, noscript, template, textarea, mjx-container, .highlight')
      .forEach(e => e.remove());
  return body.textContent;
}"""

_MATH_JS = """() => {
  const math = [...document.querySelectorAll('.math')];
  return {
    untypeset: math.filter(e => !e.querySelector('mjx-container'))
                   .map(e => e.textContent.trim().slice(0, 80)),
    errors: [...document.querySelectorAll('mjx-merror')]
                   .map(e => e.getAttribute('data-mjx-error') || e.textContent),
  };
}"""

# Load every MathJax font face, used on this page or not (math in a closed drop-down
# uses none), so a font missing from the site shows up as "error".
_FONTS_JS = """() => document.fonts.ready.then(fonts => {
  const faces = [...fonts].filter(f => f.family.startsWith('MJX'));
  return Promise.all(faces.map(f => f.load().catch(() => null))).then(() =>
    Object.fromEntries(faces.map(f => [f.family + ' ' + f.weight + ' ' + f.style, f.status])));
})"""

# Lazy images load only near the viewport: make every image load now, then read its size.
_IMAGES_JS = """() => Promise.all([...document.images].map(img => {
  img.loading = 'eager';
  const done = img.complete ? Promise.resolve() : new Promise(resolve => {
    img.addEventListener('load', resolve);
    img.addEventListener('error', resolve);
    setTimeout(resolve, 15000);
  });
  return done.then(() => ({src: img.getAttribute('src'), width: img.naturalWidth}));
}))"""

_LINKS_JS = """() => [...document.querySelectorAll(
    'a[href], link[href], img[src], script[src], iframe[src], source[src]')]
  .map(e => e.getAttribute(e.hasAttribute('href') ? 'href' : 'src'))"""

_ANCHORS_JS = """() => [...document.querySelectorAll('a[href]')].map(a => ({
  href: a.getAttribute('href'), text: a.textContent.trim(),
  label: a.getAttribute('aria-label') || a.getAttribute('title') || ''}))"""

_FOOTER_JS = "() => [...document.querySelectorAll('footer')].map(f => f.innerText).join(' ')"
_IS_DARK_JS = "() => document.documentElement.dataset.theme === 'dark'"

_DARK_IMAGES_JS = """() => [...document.querySelectorAll('.bd-article img')]
  .filter(img => !img.classList.contains('only-dark') && !img.classList.contains('dark-light'))
  .map(img => {
    const style = getComputedStyle(img);
    return {src: img.getAttribute('src'), background: style.backgroundColor,
            filter: style.filter};
  })"""


# Everything wider than the column it sits in, measured in the page: the page itself, every
# display equation, every code or output block, every table. Folded content (drop-downs,
# <details>) is opened first so that it is measured too. A pixel of slack absorbs rounding.
_OVERFLOW_JS = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  const shown = e => e.getClientRects().length > 0;
  const label = e => {
    const section = e.closest('section[id]');
    return section ? '#' + section.id : '';
  };
  const tex = e => {
    try {
      const items = MathJax.startup.document.getMathItemsWithin(e);
      if (items.length) return items[0].math.trim().replace(/\\s+/g, ' ').slice(0, 70);
    } catch (error) {}
    return e.textContent.trim().slice(0, 70);
  };
  const found = [];
  const root = document.documentElement;
  const article = document.querySelector('article.bd-article');
  if (root.scrollWidth > root.clientWidth + 1) {
    // The culprits: the innermost elements reaching past the window, outside any box
    // that scrolls on its own.
    const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
    const inScroller = e => {
      for (let p = e.parentElement; p; p = p.parentElement) if (scrolls(p)) return true;
      return false;
    };
    const wide = [...document.body.querySelectorAll('*')].filter(e =>
      shown(e) && e.getBoundingClientRect().right > root.clientWidth + 1 && !inScroller(e));
    const innermost = wide.filter(e => !wide.some(o => o !== e && e.contains(o)));
    const culprits = innermost.slice(0, 5).map(e =>
      `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} ${label(e)} ` +
      `"${e.textContent.trim().slice(0, 50)}" (right edge at ` +
      `${Math.round(e.getBoundingClientRect().right)} px)`);
    found.push({kind: 'page', where: '', text: culprits.join('; '),
                width: root.scrollWidth, column: root.clientWidth});
  }
  if (!article) return found;
  article.querySelectorAll('mjx-container[display="true"]').forEach(e => {
    if (!shown(e)) return;
    const math = e.querySelector('mjx-math') || e;
    const width = Math.ceil(math.getBoundingClientRect().width);
    const column = e.clientWidth;
    if (width > column + 1)
      found.push({kind: 'equation', where: label(e), text: tex(e), width, column});
  });
  article.querySelectorAll('pre').forEach(e => {
    if (!shown(e) || e.scrollWidth <= e.clientWidth + 1) return;
    const line = e.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '');
    found.push({kind: e.closest('.cell_output, .output') ? 'output' : 'code',
                where: label(e), text: line.trim().slice(0, 70) + ` (${line.length} chars)`,
                width: e.scrollWidth, column: e.clientWidth});
  });
  article.querySelectorAll('table').forEach(e => {
    if (!shown(e)) return;
    const width = Math.ceil(e.getBoundingClientRect().width);
    const column = article.clientWidth;
    if (width > column + 1)
      found.push({kind: 'table', where: label(e),
                  text: e.textContent.trim().replace(/\\s+/g, ' ').slice(0, 70),
                  width, column});
  });
  return found;
}"""

# Is the element visible to a reader: displayed, not hidden, with a size, inside the window?
_ON_SCREEN_JS = """e => {
  if (!e || !e.getClientRects().length) return false;
  const style = getComputedStyle(e);
  if (style.visibility === 'hidden' || Number(style.opacity) === 0) return false;
  const box = e.getBoundingClientRect();
  return box.width > 0 && box.height > 0 && box.left >= 0 && box.right <= window.innerWidth + 1
      && box.top < window.innerHeight && box.bottom > 0;
}"""


@dataclass
class StaticPage:
    """What the built HTML file itself says, before any script runs."""

    ids: set[str] = field(default_factory=set)
    math: int = 0
    redirect: str | None = None


class _StaticParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = StaticPage()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if "id" in attributes:
            self.page.ids.add(attributes["id"])
        if tag == "a" and "name" in attributes:
            self.page.ids.add(attributes["name"])
        if "math" in attributes.get("class", "").split():
            self.page.math += 1
        if tag == "meta" and attributes.get("http-equiv", "").lower() == "refresh":
            match = re.search(r"url\s*=\s*(\S+)", attributes.get("content", ""), re.I)
            self.page.redirect = match.group(1).strip("'\"") if match else ""


@functools.cache
def static_page(path: Path) -> StaticPage:
    """Parse the HTML file at ``path`` (cached: the site does not change during a run)."""
    parser = _StaticParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.page


def site_pages(site: Path = SITE) -> list[str]:
    """Every page of the built site, relative to ``site`` (``"book/em_algorithm.html"``).

    Folders whose names start with ``_`` or ``.`` hold assets (``_static``, ``_sources``,
    ``_images``), not pages. Redirect stubs (``index.html``) are left out: they have no
    content of their own.
    """
    if not site.is_dir():
        return []
    pages = []
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site)
        if any(part.startswith(("_", ".")) for part in relative.parts[:-1]):
            continue
        if static_page(path).redirect is None:
            pages.append(relative.as_posix())
    return pages


def resolve_link(page: Path, href: str) -> tuple[Path, str] | None:
    """The file and fragment an internal link of ``page`` points at; ``None`` if external.

    A link with a scheme (``https:``, ``mailto:``, ``javascript:``) or a host is external;
    a query string (``?v=...`` cache busters) is ignored, and a folder means its index.html.
    """
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


def broken_links(page: Path, hrefs: list[str], page_ids: set[str], site: Path = SITE) -> list[str]:
    """The internal links among ``hrefs`` of ``page`` whose file or anchor does not exist.

    Anchors on ``page`` itself are looked up in ``page_ids`` (the live DOM's ids); anchors on
    other pages in those pages' HTML files.
    """
    broken = []
    root = site.resolve()
    for href in sorted(set(hrefs)):
        resolved = resolve_link(page, href)
        if resolved is None:
            continue
        target, fragment = resolved
        if not target.is_relative_to(root):
            broken.append(f"{href} (points outside the site)")
        elif not target.is_file():
            broken.append(f"{href} (no file {target.relative_to(root)})")
        elif fragment and target.suffix == ".html":
            ids = page_ids if target == page.resolve() else static_page(target).ids
            if fragment not in ids:
                broken.append(f"{href} (no anchor #{fragment} in {target.relative_to(root)})")
    return broken


@dataclass
class BrowserLog:
    """What went wrong while a page was open: requests that needed a network, errors."""

    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def offline_page(
    browser: Browser, viewport: dict[str, int] = VIEWPORT
) -> Iterator[tuple[Page, BrowserLog]]:
    """A fresh browser page that can only load local files, with a log of what went wrong.

    Every request whose URL is not ``file:``, ``data:``, ``blob:`` or ``about:`` is recorded
    in ``log.blocked`` and aborted as if the machine had no network. Console errors,
    uncaught exceptions and failed local loads go to ``log.errors``.
    """
    log = BrowserLog()
    context = browser.new_context(viewport=viewport, color_scheme="light")

    def guard(route: Route) -> None:
        if route.request.url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            log.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    def on_failed(request: Request) -> None:
        if request.url not in log.blocked:
            log.errors.append(f"failed to load {request.url}: {request.failure}")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "?")
            log.errors.append(f"console error: {message.text} (at {where})")

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda error: log.errors.append(f"uncaught exception: {error}"))
    page.on("requestfailed", on_failed)
    try:
        yield page, log
    finally:
        context.close()


@dataclass
class PageReport:
    """What a visit to one page found; the tests in test_site.py judge it."""

    name: str
    path: Path
    math_elements: int
    mathjax_version: str | None
    untypeset_math: list[str]
    math_errors: list[str]
    mathjax_fonts: dict[str, str]
    raw_tex: list[str]
    images: list[dict]
    broken_links: list[str]
    anchors: list[dict]
    log: BrowserLog
    footer: str
    dark_theme: str
    dark_images: list[dict]
    screenshots: list[Path]
    layout: LayoutReport


PRIMARY_LINKS = ".bd-sidebar-primary .bd-links a"
SECONDARY_LINKS = ".bd-sidebar-secondary #pst-page-toc-nav a"


def _on_screen(page: Page, selector: str) -> bool:
    """Whether any element matching ``selector`` is visible inside the window."""
    return any(
        page.evaluate(_ON_SCREEN_JS, element) for element in page.query_selector_all(selector)
    )


def _click_visible(page: Page, selector: str, problems: list[str], what: str) -> bool:
    """Click the one visible element matching ``selector``; note a problem if there is none."""
    buttons = page.locator(f"{selector}:visible")
    if buttons.count() != 1:
        problems.append(f"{buttons.count()} visible {what} buttons ({selector}), expected one")
        return False
    buttons.first.click()
    page.wait_for_timeout(300)  # the sidebars slide in
    return True


def check_sidebars(page: Page, viewport: str) -> list[str]:
    """Open (and close) both sidebars from the buttons a reader sees; what did not work.

    Below 992 px the chapter list (primary sidebar) and the page's contents (secondary) are
    drawers: the article header's buttons must open each, showing its links on screen, and
    Escape must close it. On a desktop the chapter list is shown and its button hides and
    shows it again; the page's contents are shown beside the article.
    """
    problems: list[str] = []
    has_contents = page.locator(SECONDARY_LINKS).count() > 0
    header = page.query_selector("#pst-header")
    band = header.bounding_box() if header else None
    if band and band["height"] > 0:
        problems.append(f"a header band {band['height']:.0f} px high above the page")
    if viewport == "desktop":
        if not _on_screen(page, PRIMARY_LINKS):
            problems.append("the chapter list is not shown on a desktop")
        if _click_visible(page, ".primary-toggle", problems, "primary-sidebar"):
            if _on_screen(page, PRIMARY_LINKS):
                problems.append("the sidebar button did not hide the chapter list")
            page.locator(".primary-toggle:visible").first.click()
            page.wait_for_timeout(300)
            if not _on_screen(page, PRIMARY_LINKS):
                problems.append("the sidebar button did not bring the chapter list back")
        if has_contents and not _on_screen(page, SECONDARY_LINKS):
            problems.append("the page's contents are not shown beside the article")
        return problems

    for side, toggle, links, modal, wanted in (
        ("primary", ".primary-toggle", PRIMARY_LINKS, "#pst-primary-sidebar-modal", True),
        (
            "secondary",
            ".secondary-toggle",
            SECONDARY_LINKS,
            "#pst-secondary-sidebar-modal",
            has_contents,
        ),
    ):
        if not wanted:
            continue
        if _on_screen(page, links):
            problems.append(f"the {side} sidebar is open before its button is pressed")
        if not _click_visible(page, toggle, problems, f"{side}-sidebar"):
            continue
        if not page.locator(f"{modal}[open]").count():
            problems.append(f"the {side} sidebar's button opened no drawer")
        elif not _on_screen(page, f"{modal} {links.split(' ', 1)[1]}"):
            problems.append(f"the {side} sidebar opened, but its links are not on screen")
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)
        if page.locator(f"{modal}[open]").count():
            problems.append(f"Escape did not close the {side} sidebar")
    return problems


@dataclass
class LayoutReport:
    """What a visit to one page at one screen size found: overflows and sidebars."""

    name: str
    viewport: str
    overflows: list[dict]
    sidebars: list[str]
    screenshot: Path
    log: BrowserLog


def _measure(
    page: Page, name: str, viewport: str, screenshot: Path, log: BrowserLog
) -> LayoutReport:
    """Measure the open page for overflows (opening its drop-downs), then try its sidebars."""
    overflows = page.evaluate(_OVERFLOW_JS)
    page.evaluate("() => window.scrollTo(0, 0)")
    sidebars = check_sidebars(page, viewport)
    return LayoutReport(name, viewport, overflows, sidebars, screenshot, log)


def visit_layout(browser: Browser, name: str, viewport: str, site: Path = SITE) -> LayoutReport:
    """Open page ``name`` at screen size ``viewport``, screenshot it, measure it, try its
    sidebars. (On a desktop :func:`visit` does the same in its own visit.)"""
    path = site / name
    with offline_page(browser, VIEWPORTS[viewport]) as (page, log):
        page.goto(path.as_uri(), wait_until="load")
        if page.locator("script[src*='mathjax']").count() or static_page(path).math:
            _wait_for_mathjax(page)
        page.evaluate("() => document.fonts.ready")
        shot = screenshot_path(name, f"-{viewport}")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=shot, full_page=True)
        return _measure(page, name, viewport, shot, log)


def screenshot_path(name: str, suffix: str = "") -> Path:
    """Where the screenshot of page ``name`` ("book/em_algorithm.html") goes."""
    return SCREENSHOTS / f"{name.removesuffix('.html')}{suffix}.png"


def _wait_for_mathjax(page: Page) -> str | None:
    """MathJax's version once it has typeset the page, or ``None`` if it never started."""
    try:
        page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20_000
        )
    except PlaywrightTimeoutError:
        return None
    return page.evaluate("() => MathJax.startup.promise.then(() => MathJax.version)")


def _raw_tex(text: str, context: int = 40) -> list[str]:
    """Passages of ``text`` around raw TeX, one per stretch (at most ten)."""
    text = " ".join(text.split())
    spans: list[list[int]] = []
    for match in RAW_TEX.finditer(text):
        start, stop = max(match.start() - context, 0), match.end() + context
        if spans and start <= spans[-1][1] and stop - spans[-1][0] <= 6 * context:
            spans[-1][1] = stop  # close to the last one: one longer passage
        else:
            spans.append([start, stop])
    return [text[start:stop] for start, stop in spans[:10]]


def visit(browser: Browser, name: str, site: Path = SITE) -> PageReport:
    """Open page ``name`` of ``site`` offline, check it in light and dark mode, screenshot it."""
    path = site / name
    static = static_page(path)
    with offline_page(browser) as (page, log):
        page.goto(path.as_uri(), wait_until="load")
        has_mathjax = page.locator("script[src*='mathjax']").count() > 0
        version = _wait_for_mathjax(page) if (has_mathjax or static.math) else None
        math = page.evaluate(_MATH_JS)
        fonts = page.evaluate(_FONTS_JS)
        images = page.evaluate(_IMAGES_JS)
        dom_ids = set(page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)"))
        broken = broken_links(path, page.evaluate(_LINKS_JS), dom_ids | static.ids, site)
        footer = page.evaluate(_FOOTER_JS)
        light = screenshot_path(name)
        light.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=light, full_page=True)

        page.emulate_media(color_scheme="dark")
        try:
            page.wait_for_function(_IS_DARK_JS, timeout=5_000)
        except PlaywrightTimeoutError:
            pass
        page.wait_for_timeout(400)  # let the theme's colour transitions finish
        dark = screenshot_path(name, "-dark")
        page.screenshot(path=dark, full_page=True)
        layout = _measure(page, name, "desktop", light, log)
        return PageReport(
            name=name,
            path=path,
            math_elements=static.math,
            mathjax_version=version,
            untypeset_math=math["untypeset"],
            math_errors=math["errors"],
            mathjax_fonts=fonts,
            raw_tex=_raw_tex(page.evaluate(_VISIBLE_TEXT_JS)),
            images=images,
            broken_links=broken,
            anchors=page.evaluate(_ANCHORS_JS),
            log=log,
            footer=footer,
            dark_theme=page.evaluate("() => document.documentElement.dataset.theme"),
            dark_images=page.evaluate(_DARK_IMAGES_JS),
            screenshots=[light, dark],
            layout=layout,
        )
