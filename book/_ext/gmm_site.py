"""Sphinx hooks for the book's website (listed in _config.yml, ``sphinx.local_extensions``).

- ``gmm_author_year``: a pybtex style whose bibliography labels read like the citations in
  the text ("Bishop, 2006", "Fraley and Raftery, 2002", "Dempster et al., 1977"), so the
  list at the end of the book says what the text says (``bibtex_default_style``).
- A "Run this chapter" note under the title of every page built from a notebook: how to get
  the notebook and ``gmmlib`` and run it, with the repository's address when the site is
  built with ``REPOSITORY_URL`` (``scripts/book_config.py``). It is added to the rendered
  page, not to the notebook, so it is not indexed by the search.
- Search excerpts that work offline: Sphinx fetches each result's page to show an excerpt,
  which a browser refuses for a site opened from files. ``_static/gmm-search-texts.js``
  holds the prose of every page, section by section (written when the build finishes), and
  ``_static/gmm-search.js`` (loaded by the search page only) shows an excerpt from it
  under each result, drops repeated results and ranks pages by how much they say about
  the words searched for.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx

SEARCH_SCRIPT = "gmm-search.js"
SEARCH_TEXTS = "gmm-search-texts.js"


# --- bibliography labels --------------------------------------------------------------


def _surname(person) -> str:
    """A person's surname as printed ("VanderPlas", "de Finetti"), LaTeX accents resolved."""
    latex = " ".join(person.prelast_names + person.last_names)
    return str(Text.from_latex(latex)).replace("{", "").replace("}", "")


def author_year_label(entry) -> str:
    """The label of ``entry`` the way the author-year citations read in the text."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(person) for person in persons]
    if not names:
        who = entry.fields.get("organization") or entry.fields.get("title") or entry.key
        who = str(Text.from_latex(who))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    year = entry.fields.get("year", "n.d.")
    return f"{who}, {year}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Surname, year", with a, b, ... added where two entries would share one."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(entry) for entry in entries]
        repeated = {label for label in labels if labels.count(label) > 1}
        seen: dict[str, int] = {}
        for label in labels:
            if label in repeated:
                seen[label] = seen.get(label, 0) + 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYearStyle(UnsrtStyle):
    """pybtex's ``unsrt`` entries, sorted by author and year, with author-year labels."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.formatting", "gmm_author_year", AuthorYearStyle)


# --- "Run this chapter" ---------------------------------------------------------------


def _code(text: str) -> str:
    return f'<code class="docutils literal notranslate">{html.escape(text)}</code>'


def _block(lines: list[str]) -> str:
    body = html.escape("\n".join(lines))
    return f'<div class="highlight"><pre>{body}</pre></div>'


def run_note(notebook: str, repository_url: str, branch: str) -> str:
    """The HTML of the note telling a reader how to run ``notebook`` ("book/x.ipynb")."""
    parts = [
        '<details class="gmm-run-chapter">',
        "<summary>Run this chapter yourself</summary>",
        f"<p>This page is the notebook {_code(notebook)}, shown with the outputs it was "
        "committed with. To run it, with the exact versions the outputs come from:</p>",
    ]
    if repository_url:
        folder = repository_url.rstrip("/").rsplit("/", 1)[-1]
        parts.append(_block([f"git clone {repository_url}", f"cd {folder}", "make lab"]))
    else:
        parts.append(_block(["make lab    # in a copy of the book's repository"]))
    parts.append(
        "<p><code>make lab</code> creates <code>.venv</code> with everything pinned in "
        "<code>requirements.txt</code> (gmmlib included) and opens JupyterLab on "
        f"<code>book/</code>; then open {_code(notebook.rsplit('/', 1)[-1])}.</p>"
    )
    if repository_url:
        parts.append(
            "<p>Or, in any Python 3.10+ environment, install the library and download the "
            "notebook with the download button above:</p>"
        )
        parts.append(_block([f'pip install "gmmlib @ git+{repository_url}@{branch}"']))
        colab_cell = f'%pip install "gmmlib @ git+{repository_url}@{branch}"'
        parts.append(
            "<p>The launch buttons above open this chapter on Binder, which installs "
            "everything, or on Colab, where a first cell must install the library: "
            f"{_code(colab_cell)}.</p>"
        )
    else:
        parts.append(
            "<p>Or install only the library into your own environment with "
            "<code>pip install .</code> from the repository, and download the notebook "
            "with the download button above.</p>"
        )
    parts.append("</details>")
    return "\n".join(parts)


def add_run_note(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Put the "Run this chapter" note under the title of every notebook page."""
    if context.get("page_source_suffix") != ".ipynb" or "body" not in context:
        return
    options = app.config.html_theme_options or {}
    # Jupyter Book fills in a repository URL of its own when none is given; the book names
    # one exactly when the repository button is on (scripts/book_config.py).
    published = bool(options.get("use_repository_button"))
    note = run_note(
        notebook=pagename + ".ipynb",
        repository_url=(options.get("repository_url") or "") if published else "",
        branch=options.get("repository_branch") or "main",
    )
    body = context["body"]
    end_of_title = body.find("</h1>")
    if end_of_title >= 0:
        end_of_title += len("</h1>")
        context["body"] = body[:end_of_title] + "\n" + note + body[end_of_title:]


# --- offline search excerpts ----------------------------------------------------------


def add_search_script(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree
) -> None:
    """Load the page texts and the excerpt script on the search page only."""
    if pagename == "search":
        app.add_js_file(SEARCH_TEXTS)
        app.add_js_file(SEARCH_SCRIPT)


#: What the excerpts leave out: code, outputs, figures, navigation and typeset maths.
_NOT_PROSE = (
    "script, style, .cell_input, .cell_output, .highlight, pre, figure, img, .headerlink, "
    ".gmm-run-chapter, .math, .toggle-hidden, nav, .prev-next-area"
)


def page_prose(page_html: str) -> str:
    """The article of a built page as light HTML: its sections (with ids) and their prose."""
    soup = BeautifulSoup(page_html, "html.parser")
    article = soup.find("article")
    if article is None:
        return ""
    for element in article.select(_NOT_PROSE):
        element.replace_with(" … " if "math" in (element.get("class") or []) else "")

    def render(node) -> str:
        pieces = []
        for child in node.children:
            if getattr(child, "name", None) == "section" and child.get("id"):
                pieces.append(f'<section id="{html.escape(child["id"])}">{render(child)}</section>')
            elif getattr(child, "name", None) in ("h1", "h2", "h3", "h4", "h5", "h6"):
                title = html.escape(" ".join(child.get_text(" ").split()))
                pieces.append(f"<{child.name}>{title}</{child.name}> ")
            elif getattr(child, "name", None) is not None:
                if child.find("section"):
                    pieces.append(render(child))
                else:
                    pieces.append(html.escape(child.get_text(" ")) + " ")
            else:
                pieces.append(html.escape(str(child)))
        return re.sub(r"\s+", " ", "".join(pieces))

    return f'<div role="main">{render(article)}</div>'


def write_search_texts(app: Sphinx, exception: Exception | None) -> None:
    """Write ``_static/gmm-search-texts.js``: the prose of every page, by docname."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    texts = {}
    for docname in sorted(app.env.found_docs):
        page = outdir / app.builder.get_target_uri(docname)
        if page.is_file():
            texts[docname] = page_prose(page.read_text(encoding="utf-8"))
    script = "window.GMM_SEARCH_TEXTS = " + json.dumps(texts, ensure_ascii=False) + ";\n"
    (outdir / "_static" / SEARCH_TEXTS).write_text(script, encoding="utf-8")


# --- the gmmlib reference ------------------------------------------------------------


def skip_foreign_members(
    app: Sphinx, what: str, name: str, obj, skip: bool, options
) -> bool | None:
    """Leave out members that scikit-learn makes for every estimator (``set_fit_request``...).

    Their docstrings are scikit-learn's, written for its own documentation (they refer to
    its glossary), and say nothing about gmmlib. Everything gmmlib defines is kept.
    """
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and module.startswith("sklearn."):
        return True
    return None


def _canonical_name(target: str) -> str | None:
    """Where the gmmlib object named ``target`` is defined ("gmmlib.GaussianMixture" ->
    "gmmlib.mixture.GaussianMixture"), or ``None`` if it is not an importable object."""
    import importlib

    parts = target.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        break
    else:
        return None
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname:
        return None
    return f"{module}.{qualname}"


def resolve_reexports(app: Sphinx, env, node, contnode):
    """Let ``{py:class}`gmmlib.GaussianMixture``` find ``gmmlib.mixture.GaussianMixture``.

    The reference documents each object where it is defined; a chapter may name it where a
    reader imports it from (``gmmlib``), and the strict build (``-n``) must resolve that too.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    module = node.get("py:module") or ""
    # A short name in a docstring (:class:`GaussianMixture` in gmmlib's) is looked up in
    # the module it is written in first.
    candidates = [target] if target.startswith("gmmlib.") else []
    if module.startswith("gmmlib") and not target.startswith("gmmlib."):
        candidates.insert(0, f"{module}.{target}")
    domain = env.get_domain("py")
    for candidate in candidates:
        canonical = _canonical_name(candidate)
        if canonical is None or canonical == target:
            continue
        found = domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], canonical, node, contnode
        )
        if found is not None:
            return found
    return None


# --- sphinx-codeautolink and sphinx-exercise -------------------------------------------


def _patch_codeautolink() -> None:
    """Let sphinx-codeautolink 0.20 read pages with exercises.

    It keeps a stack of section titles: every ``title`` node pushes, every ``section`` pops.
    sphinx-exercise puts a title into its exercise and solution nodes and an untitled
    ``section`` inside them, so pages with exercises pop more than they push and the build
    stops ("pop from empty list"). Here only a section's own title pushes, and only a section
    with a title pops.
    """
    from docutils import nodes
    from sphinx_codeautolink.extension.block import CodeBlockAnalyser

    visit_title, depart_section = CodeBlockAnalyser.visit_title, CodeBlockAnalyser.depart_section
    if getattr(visit_title, "_gmm_patched", False):
        return

    def section_title(node) -> bool:
        return isinstance(node, nodes.title) and isinstance(node.parent, nodes.section)

    def titled(section) -> bool:
        return bool(section.children) and isinstance(section.children[0], nodes.title)

    def visit_only_section_titles(self, node) -> None:
        if section_title(node):
            visit_title(self, node)

    def depart_titled_sections(self, node) -> None:
        if titled(node):
            depart_section(self, node)

    visit_only_section_titles._gmm_patched = True
    CodeBlockAnalyser.visit_title = visit_only_section_titles
    CodeBlockAnalyser.depart_section = depart_titled_sections


def setup(app: Sphinx) -> dict[str, Any]:
    _patch_codeautolink()
    app.connect("autodoc-skip-member", skip_foreign_members)
    app.connect("missing-reference", resolve_reexports)
    app.connect("html-page-context", add_run_note)
    app.connect("html-page-context", add_search_script)
    app.connect("build-finished", write_search_texts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
