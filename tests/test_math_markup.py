r"""Formulas in a page that runs no script: markdown's TeX as MathML (math_markup, page_safety).

Pages are nbconvert's HTML export with the sanitizers ``protect`` puts in (as feedback pages
and formgrader's review page are made), of notebooks built here with the course notebooks'
formulas. Each attack is shown first to work without us (latex2mathml's own string, or the
markup as written, in headless Chromium), then to fail in our page. The browser test opens
three small files in one Chromium; the rest reads the exported HTML.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nbformat
import nbformat.v4 as v4
import pytest
from formgrader_driver import NoBrowser, chromium
from latex2mathml.converter import convert
from nbconvert import HTMLExporter
from traitlets.config import Config

from autograder.grader.math_markup import to_mathml
from autograder.grader.page_safety import MATH_TAGS, TAGS, clean_fragment, protect, with_csp

from helpers import BINARY_SOLUTION, SOLUTION, unavailable

# Display formulas of the course notebooks (solutions/*/*.ipynb), as written there.
DISPLAY = {
    "ReLU": r"\mathrm{ReLU}(z) = \max(0, z),",
    "softmax": r"a_j = \frac{e^{z_j}}{\sum_{k=0}^{N-1} e^{z_k}}, \qquad j = 0, \dots, N-1.",
    "sigmoid": r"g(z) = \frac{1}{1 + e^{-z}},",
    "cross-entropy": r"-\log \mathrm{softmax}(\mathbf{z})_y = -z_y + \log\sum_k e^{z_k}",
}
# Inline ones, and TeX that markdown's HTML escaping touches (<, &).
INLINE = {
    "weighted sum": r"z = \mathbf{w}\cdot\mathbf{x} + b",
    "binary cross-entropy": r"-y \log p - (1 - y) \log(1 - p)",
    "overflow": r"1.8\times10^{308} \approx e^{709.8}",
    "less than": r"a < b",
}
MATRIX = r"\begin{pmatrix}1 & 2\\3 & 4\end{pmatrix}"
LIBRARIES = ("jquery_url", "require_js_url", "mathjax_url")
# A script that leaves a mark the browser test reads: a data-ran_* attribute on <body>.
MARK = "document.body.dataset.ran_{}=1"
MARKS_JS = """return Object.fromEntries(Object.entries(document.body.dataset)
  .filter(([key]) => key.startsWith('ran_')).map(([key, v]) => [key.slice(4), v]))"""
# TeX that asks for what a page must not have, and what latex2mathml's string then holds.
HOSTILE_TEX = {
    r"\href{javascript:alert(1)}{x}": 'href="javascript:alert(1)"',
    r"\style{background:url(http://127.0.0.1:9/x.png)}{y}": 'style="background:url(',
    r"\class{anchor-link}{z}": 'class="anchor-link"',
    r"\text{<script>alert(1)</script>}": "<script>alert(1)</script>",
    r'\text{<img/src="x"/onerror="alert(1)">}': '<img/src="x"/onerror="alert(1)">',
}
# MathML written into markdown as HTML: an event handler (MathML elements run them), links,
# a style, <maction>, HTML in <annotation-xml encoding="text/html"> and in <mtext>.
INJECTED = (
    '<math display="block"><maction actiontype="toggle">'
    f'<mrow href="javascript:{MARK.format("href")}" onclick="{MARK.format("click")}"'
    ' style="color:red" xlink:href="javascript:alert(1)"><mi>x</mi></mrow><mi>y</mi></maction>'
    '<semantics><mi>z</mi><annotation-xml encoding="text/html">'
    f'<img src="x" onerror="{MARK.format("annotation")}"></annotation-xml></semantics>'
    f'<mtext><img src="x" onerror="{MARK.format("mtext")}"></mtext></math>')


@pytest.fixture(scope="module")
def exporter() -> HTMLExporter:
    """The HTML export with our sanitizers, without its libraries from a CDN."""
    config = Config()
    for library in LIBRARIES:
        config.HTMLExporter[library] = ""
    protect(config)
    return HTMLExporter(config=config, template_name="classic")


def page_of(exporter: HTMLExporter, *markdown: str) -> str:
    nb = v4.new_notebook()
    nb.cells = [v4.new_markdown_cell(source) for source in markdown]
    return exporter.from_notebook_node(nb)[0]


class Body(HTMLParser):
    """A page's body: its elements as (tag, attributes), and the text of each TeX annotation."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.tex: list[str] = []
        self._annotation = False
        self.feed(page[page.find("<body"):] if "<body" in page else page)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._annotation = tag == "annotation"
        if self._annotation:
            self.tex.append("")

    def handle_endtag(self, tag):
        self._annotation = self._annotation and tag != "annotation"

    def handle_data(self, data):
        if self._annotation:
            self.tex[-1] += data

    def tags(self) -> set[str]:
        return {tag for tag, _ in self.elements}


def outside_math_and_code(page: str) -> str:
    """The body's markup without its formulas, code and code blocks: where MathJax (on
    formgrader's page) would look for TeX."""
    body = page[page.find("<body"):]
    return re.sub(r"<(math|code|pre)\b[\s\S]*?</\1>", "", body)


def executable(body: Body) -> list:
    """What in a page's body could run or fetch: script elements, event handlers, and links
    or sources that are not the web, the page or a data: image."""
    found = [tag for tag, _ in body.elements if tag in ("script", "iframe", "object", "embed")]
    for tag, attrs in body.elements:
        for name, value in attrs.items():
            if name.startswith("on") or (name in ("href", "xlink:href", "style")
                                         and tag in MATH_TAGS):
                found.append((tag, name))
            elif name in ("href", "src") and not re.match(r"(https?:|#|data:image/)",
                                                          value or ""):
                found.append((tag, name, value))
    return found


# --- the conversion ------------------------------------------------------------------------

def test_formulas_become_mathml_with_their_tex_as_the_annotation(exporter):
    text = ("Weighted sum ${weighted sum}$, loss ${binary cross-entropy}$, ${overflow}$, "
            "${less than}$.").format_map(INLINE)
    page = page_of(exporter, text, *(f"$${tex}$$" for tex in DISPLAY.values()),
                   f"A matrix:\n\n{MATRIX}\n")
    body = Body(page)
    assert body.tex == [*INLINE.values(), *DISPLAY.values(), MATRIX]  # as the author typed
    maths = [attrs for tag, attrs in body.elements if tag == "math"]
    assert [m["display"] for m in maths] == ["inline"] * 4 + ["block"] * 5
    assert page.count("<semantics>") == len(maths)
    for drawn in ("<mfrac>", "<msubsup><mo>∑</mo>", "<mtable>", "<mi>𝐰</mi>",
                  "<mi>a</mi><mo>&lt;</mo><mi>b</mi>",
                  # \log p: log, applied, a thin space, p; \log(1 - p): no space before (
                  '<mi>log</mi><mo>\u2061</mo><mspace width="0.1667em"></mspace><mi>p</mi>',
                  '<mi>log</mi><mo stretchy="false">(</mo>'):
        assert drawn in page
    # nothing is left for MathJax: no TeX outside the formulas (formgrader loads it)
    assert "$" not in outside_math_and_code(page)
    assert executable(body) == []


def test_every_formula_of_the_course_notebooks_converts(exporter):
    cells = [cell.source for path in (SOLUTION, BINARY_SOLUTION)
             for cell in nbformat.read(path, as_version=4).cells
             if cell.cell_type == "markdown" and "$" in cell.source]
    page = page_of(exporter, *cells)
    assert len(Body(page).tex) > 50
    assert "<code>$" not in page
    assert "$" not in outside_math_and_code(page)


def test_a_formula_that_does_not_convert_stays_readable_tex_in_code(exporter):
    deep = "\\sqrt{" * 300 + "x" + "}" * 300  # deeper than Python's recursion goes
    page = page_of(exporter, r"Broken $\frac{$ and $x^$, then $y$." "\n\n"
                   r"$$\frac{1}{$$" "\n\n" f"$${deep}$$")
    assert r"<code>$\frac{$</code> and <code>$x^$</code>, then <math" in page
    assert r"<code>$$\frac{1}{$$</code>" in page
    assert f"<code>$${deep}$$</code>" in page
    assert Body(page).tex == ["y"]


# --- hostile TeX and MathML ----------------------------------------------------------------

@pytest.mark.parametrize("tex", HOSTILE_TEX)
def test_tex_asking_for_links_styles_classes_or_markup_gets_none(exporter, tex):
    attack = HOSTILE_TEX[tex]
    assert attack in convert(tex)  # latex2mathml's string, as it is meant to be used
    ours = to_mathml(tex, display=False)
    if attack.startswith("<"):  # markup in the TeX's text: to_mathml escapes it
        assert attack not in ours
    else:  # an attribute: to_mathml keeps it, the sanitizer (one rule, page_safety's) drops it
        assert attack in ours
    assert attack not in clean_fragment(ours)

    page = page_of(exporter, f"Here ${tex}$ is.")
    body = Body(page)
    assert attack not in page
    assert body.tex == [tex] and "math" in body.tags()
    assert executable(body) == []


def test_mathml_written_as_markdown_html_keeps_only_what_draws_a_formula(exporter):
    cleaned = Body(clean_fragment(INJECTED))  # the page's last rule, alone
    assert cleaned.tags() <= TAGS | MATH_TAGS
    assert not {"maction", "annotation-xml"} & cleaned.tags()
    assert executable(cleaned) == []
    assert [attrs for _, attrs in cleaned.elements if attrs] == [{"display": "block"}]
    # and in a page, behind nbconvert's SanitizeHTML, which escapes it all first
    body = Body(page_of(exporter, f"Injected: {INJECTED}"))
    assert executable(body) == [] and "math" not in body.tags()


@pytest.mark.parametrize(("markup", "kept"), [
    ('<mi mathvariant="bold">', True),
    ('<mstyle mathcolor="#ff0000" mathbackground="yellow">', True),
    ('<mspace width="2em">', True),
    ('<mtable columnspacing="0em 2em" columnlines="solid none">', True),
    ('<mpadded lspace="-1width" width="0px">', True),
    ('<annotation encoding="application/x-tex">', True),
    ('<mstyle mathcolor="url(http://127.0.0.1:9/x)">', False),
    ('<mstyle mathbackground="red;background-image:url(x)">', False),
    ('<mspace width="100em">', False),  # \hspace{100em}
    ('<mpadded voffset="-1em">', False),  # \raise: moves a formula over the page
    ('<annotation encoding="text/html">', False),
    ('<mi id="summary" class="anchor-link" tabindex="1" autofocus="">', False),
    ('<mi style="position:fixed">', False),
    ('<mi onfocus="alert(1)">', False),
])
def test_presentation_attributes_are_kept_only_with_values_of_their_kind(markup, kept):
    tag = markup[1:].split()[0]
    cleaned = clean_fragment(f"<math>{markup}x</{tag}></math>")
    assert (markup in cleaned) is kept, cleaned
    assert f"<{tag}" in cleaned  # the element stays, whatever its attributes


# --- in a browser --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        with chromium(tmp_path_factory.mktemp("chromium-profile"), 900, 700) as driver:
            yield driver
    except NoBrowser as exc:
        unavailable(str(exc))


def opened(browser, path, page: str) -> dict:
    """The marks scripts left once the page has loaded (images failed, handlers run) and
    every element of its formulas was clicked."""
    path.write_text(page, encoding="utf-8")
    browser.get(path.as_uri())
    browser.execute_script("document.querySelectorAll('math *').forEach("
                           " e => e.dispatchEvent(new MouseEvent('click')))")
    return browser.execute_script(MARKS_JS)


def test_in_chromium_formulas_are_drawn_and_nothing_runs(browser, exporter, tmp_path):
    tex = (r"\text{<script>" + MARK.format("script") + "</script>}",
           r'\text{<img/src="x"/onerror="' + MARK.format("image") + '">}')
    # without us: latex2mathml's strings and the markup as written run their scripts
    bare = "<!DOCTYPE html><html><head></head><body>{}{}{}</body></html>".format(
        *map(convert, tex), INJECTED)
    assert opened(browser, tmp_path / "bare.html", bare) == {
        "script": "1", "image": "1", "click": "1", "annotation": "1", "mtext": "1"}

    # ours, without the policy (as on formgrader's page): nothing; the markup as written is
    # escaped by SanitizeHTML before it reaches our rules, so they are shown alone
    ours = page_of(exporter, f"${tex[0]}$ and ${tex[1]}$").replace(
        "</body>", clean_fragment(INJECTED) + "</body>")
    assert opened(browser, tmp_path / "ours.html", ours) == {}

    # a feedback page: drawn by the browser, under the policy
    page = with_csp(page_of(exporter, f"$${DISPLAY['softmax']}$$ and ${INLINE['less than']}$"))
    assert opened(browser, tmp_path / "page.html", page) == {}
    fraction, letter, annotation = browser.execute_script(
        "return ['mfrac', 'mi', 'annotation'].map("
        " t => document.querySelector(t).getBoundingClientRect().height)")
    assert fraction > 1.8 * letter and annotation == 0  # a fraction, two lines high; no TeX
