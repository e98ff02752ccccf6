"""Markdown we write for GitHub (the CI job summary, Classroom 50's release body) rendered as
GitHub renders it, into a standalone page that an accessibility audit can read.

    html = markdown_page.page(summary)             # <html lang="en">, <title>, <main>
    markdown_page.write(summary, tmp_path / "summary.html")  # for axe.audit(driver, path)
    markdown_page.headings(html)   # [(1, "run-autograding-tests summary"), (2, "Autograding…")]
    markdown_page.tables(html)     # [[["test", "result", …], ["test_my_relu", "❌ fail", …]]]
    markdown_page.problems(summary, ["test_my_relu", …])  # [] when it reads well

GitHub's Markdown is GitHub Flavored Markdown: CommonMark with tables and strikethrough, and
the inline HTML it allows kept (the summary's ``<br>`` in a table cell). markdown-it-py's
``commonmark`` preset with those two rules renders what our texts use of it (as
docs/screenshots.py does). Its ``gfm-like`` preset would add links made of bare URLs, which
need linkify-it-py (not installed) and which none of our texts relies on; GitHub's HTML
sanitiser is left out too, since our texts escape whatever the student wrote.

GitHub shows a job summary (or a release body) below a title of its own, so the page puts
that title in an ``<h1>`` before the Markdown: the Markdown's headings start at ``##`` and
the page's outline is the one a reader of GitHub's page meets. Everything sits in ``<main>``
(axe's ``region`` rule wants every piece of content in a landmark).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

from markdown_it import MarkdownIt

TITLE = "run-autograding-tests summary"  # what GitHub titles the job's summary with

WORD = re.compile(r"[^\W\d_]{2,}")  # letters, not only a symbol ("✅") or a number

__all__ = ["TITLE", "headings", "page", "problems", "render", "tables", "write"]


def render(markdown: str) -> str:
    """The Markdown as GitHub renders it: an HTML fragment."""
    return MarkdownIt("commonmark", {"html": True}).enable(
        ["table", "strikethrough"]).render(markdown)


def page(markdown: str, title: str = TITLE) -> str:
    """A standalone HTML page: the language, a ``<title>``, and ``<main>`` holding ``title``
    as its ``<h1>`` and the rendered Markdown."""
    name = html.escape(title)
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{name}</title>\n</head>\n<body>\n<main>\n<h1>{name}</h1>\n"
            f"{render(markdown)}</main>\n</body>\n</html>\n")


def write(markdown: str, path: Path, title: str = TITLE) -> Path:
    """``page`` written to ``path`` (UTF-8), for a browser to open."""
    path.write_text(page(markdown, title), encoding="utf-8")
    return path


class _Outline(HTMLParser):
    """The headings and the tables' cells of a page, as text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []
        self.tables: list[list[list[str]]] = []
        self._text: list[str] | None = None  # the heading or cell being read

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6", "th", "td"):
            self._text = []
        elif tag == "br" and self._text is not None:
            self._text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._text is None:
            return
        text = "".join(self._text).strip()
        if tag in ("th", "td") and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(text)
            self._text = None
        elif tag[:1] == "h" and tag[1:].isdigit():
            self.headings.append((int(tag[1:]), text))
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def _outline(page_html: str) -> _Outline:
    parser = _Outline()
    parser.feed(page_html)
    parser.close()
    return parser


def headings(page_html: str) -> list[tuple[int, str]]:
    """Every heading, in page order: (level, text)."""
    return _outline(page_html).headings


def tables(page_html: str) -> list[list[list[str]]]:
    """Every table as its rows, each row its cells' text (header row first); a ``<br>`` in
    a cell is a newline."""
    return _outline(page_html).tables


def problems(markdown: str, order: Sequence[str], title: str = TITLE) -> list[str]:
    """What keeps the page of a test report (a table with "test" and "result" columns) from
    reading well, one sentence each; ``[]`` when nothing does. The rules: headings never skip
    a level (the page's ``<h1>`` first); each table has one header row and a name in every
    header cell; the report's tests are ``order``, in that order; every result says it in
    words, not a symbol alone."""
    page_html = page(markdown, title)
    found, levels = [], [level for level, _ in headings(page_html)]
    for before, after in zip([0, *levels], levels, strict=False):
        if after > before + 1:
            found.append(f"heading levels jump from h{before} to h{after}: {levels}")
    reports = [t for t in tables(page_html) if t and {"test", "result"} <= {
        cell.lower() for cell in t[0]}]
    if len(reports) != 1:
        return [*found, f"expected one table of tests, found {len(reports)}"]
    header, *rows = reports[0]
    if any(not cell for cell in header):
        found.append(f"an empty header cell: {header}")
    names = [cell.lower() for cell in header]
    test, result = names.index("test"), names.index("result")
    if [row[test] for row in rows] != list(order):
        found.append(f"tests in the order {[row[test] for row in rows]}, not {list(order)}")
    found += [f"the result of {row[test]} has no word: {row[result]!r}"
              for row in rows if not WORD.search(row[result])]
    return found
