/* Search results that help, offline (loaded by the search page only; book/_ext/gmm_site.py).
 *
 * Sphinx shows an excerpt under a result by fetching the result's page, which a browser
 * refuses for a site opened from files. The build writes the prose of every page, section
 * by section, into gmm-search-texts.js (window.GMM_SEARCH_TEXTS); this script
 *  - ranks pages by how much they say about the words searched for (the share of the page's
 *    words that are those words), Sphinx's own score breaking ties;
 *  - sends a result for a whole page to the first section that has the words, and names
 *    it ("Page > Section", as Sphinx names a section whose title matches);
 *  - shows under each result an excerpt of that section around the first word found;
 *  - drops a result that repeats one already listed (the same page under the same title).
 */
"use strict";

(() => {
  const texts = window.GMM_SEARCH_TEXTS || {};
  const query = new URLSearchParams(window.location.search).get("q") || "";
  const words = query
    .toLowerCase()
    .split(/[^\p{Letter}\p{Number}_]+/u)
    .filter((word) => word.length > 1);

  const parsed = new Map();
  const parse = (docName) => {
    if (!parsed.has(docName))
      parsed.set(docName, new DOMParser().parseFromString(texts[docName] || "", "text/html"));
    return parsed.get(docName);
  };
  const plainTexts = new Map();
  const plainText = (docName) => {
    if (!plainTexts.has(docName))
      plainTexts.set(docName, parse(docName).body.textContent.toLowerCase());
    return plainTexts.get(docName);
  };

  const occurrences = (text, word) => {
    const pattern = new RegExp(`(^|[^\\p{Letter}\\p{Number}_])${word}`, "gu");
    return (text.match(pattern) || []).length;
  };

  // How much of a page is about the words: occurrences per thousand words, on a log scale.
  const relevance = (docName) => {
    const text = plainText(docName);
    if (!text || !words.length) return 0;
    const length = Math.max(text.split(/\s+/).length, 1);
    const count = words.reduce((sum, word) => sum + occurrences(text, word), 0);
    return Math.log2(1 + (1000 * count) / length);
  };

  // Sphinx's Scorer: defined before searchtools.js (which keeps it) or patched after.
  // Sphinx scores a page by where a word occurs (15 in a title, 5 in the text, 100 for an
  // index entry such as a glossary term), not by how much the page says about it, so a
  // page that mentions BIC in one heading outranks the chapter about BIC. Here how much a
  // page says (relevance) decides, and Sphinx's score, capped at a title's, breaks ties.
  // The reference's pages (book/api) are short and dense in names, so they count a third
  // as much: a reader who searches a concept gets the chapter first, the reference after.
  const weight = (docName) => (docName.startsWith("book/api/") ? 10 : 30);
  // When the query is written like code (a capital, an underscore or a dot:
  // "GaussianMixture", "e_step") the object of that name comes first (Sphinx gives it its
  // exact-name score plus its priority, 16 or more); a plain word ("bic") is a concept,
  // and the chapter about it comes first.
  const codeLike = /[A-Z_.]/.test(query.trim());
  const score = (result) => {
    const [docName, , , descr, sphinxScore] = result;
    if (codeLike && descr && sphinxScore >= Scorer.objNameMatch + 5) return 1000 + sphinxScore;
    return weight(docName) * relevance(docName) + Math.min(sphinxScore, 15);
  };
  if (typeof Scorer === "undefined") {
    window.Scorer = {
      score,
      objNameMatch: 11,
      objPartialMatch: 6,
      objPrio: { 0: 15, 1: 5, 2: -5 },
      objPrioDefault: 0,
      title: 15,
      partialTitle: 7,
      term: 5,
      partialTerm: 2,
    };
  } else {
    Scorer.score = score;
  }

  // The first section below the page's title whose own text (less its subsections) has
  // one of the words: where a result for the whole page sends the reader.
  const sectionFor = (docName) => {
    for (const section of parse(docName).querySelectorAll("section[id]")) {
      const own = section.cloneNode(true);
      own.querySelectorAll("section").forEach((inner) => inner.remove());
      const heading = own.querySelector("h1, h2, h3, h4, h5, h6");
      const text = own.textContent.toLowerCase();
      if (!words.some((word) => occurrences(text, word) > 0)) continue;
      if (!heading || heading.tagName === "H1") return null; // the page's own opening
      return { id: section.id, title: heading.textContent.trim() };
    }
    return null;
  };

  const seen = new Set();
  const addExcerpt = (item) => {
    const link = item.querySelector("a");
    if (!link || item.dataset.gmmDone) return;
    item.dataset.gmmDone = "1";
    const href = link.getAttribute("href");
    const [path, anchor] = href.split("#");
    const docName = path.replace(/\.html$/, "");
    const key = `${docName} ${link.textContent.trim()}`;
    if (seen.has(key)) {
      item.remove();
      return;
    }
    seen.add(key);
    if (item.querySelector(":scope > p.context, :scope > span")) return; // has its own text
    if (!texts[docName] || typeof Search === "undefined") return;
    let where = anchor ? `#${anchor}` : "";
    const section = anchor ? null : sectionFor(docName);
    if (section) {
      where = `#${section.id}`;
      link.setAttribute("href", `${path}${where}`);
      link.append(` > ${section.title}`);
    }
    const [, searchTerms] = Search._parseQuery(query);
    const summary = Search.makeSearchSummary(texts[docName], searchTerms, where);
    if (!summary) return;
    item.appendChild(summary);
    if (typeof _highlightText !== "undefined")
      words.forEach((word) => _highlightText(summary, word, "highlighted"));
  };

  const watch = () => {
    const results = document.getElementById("search-results");
    if (!results) return;
    results.querySelectorAll("li").forEach(addExcerpt);
    new MutationObserver(() => results.querySelectorAll("li").forEach(addExcerpt)).observe(
      results,
      { childList: true, subtree: true },
    );
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();
