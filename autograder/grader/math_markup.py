r"""TeX in markdown as MathML, so that formulas render in a page that runs no script.

nbconvert's markdown leaves ``$...$``, ``$$...$$``, ``\[...\]``, ``\(...\)`` and
``\begin{env}...\end{env}`` in the page for MathJax, a script, which a feedback page may not
run (``page_safety.with_csp``): there formulas showed as raw TeX. Chromium (109 on) and Firefox
draw MathML themselves, so each formula is written as MathML when the page is written, its TeX
kept as the annotation (for copying, screen readers, a reader who wants the source)::

    <math display="inline"><semantics><mrow>...</mrow>
      <annotation encoding="application/x-tex">TeX</annotation></semantics></math>

A formula that latex2mathml cannot convert stays as its TeX, delimiters and all, in ``<code>``.

Rules, and why:

- The markup is written from latex2mathml's element tree, never taken from its string:
  ``latex2mathml.converter.convert`` un-escapes its own output, so ``\text{<script>...}``
  comes out as a live ``<script>`` inside ``<mtext>`` (where the HTML parser reads HTML).
  Here every text and attribute value is escaped: nothing in the TeX becomes markup.
- The elements and attributes are latex2mathml's, including what TeX asks for (``\href``
  gives an ``href``, ``\style`` a ``style``, ``\class`` a ``class``). Which of them a page
  keeps is for ``page_safety.clean_fragment`` to decide, as for everything markdown renders:
  this module's output is never put in a page without it.
- A function's name before an argument without brackets (``\log x``, ``\log\mathrm{softmax}``)
  gets TeX's thin space, and the function-application character that says what it is:
  latex2mathml writes neither, and a browser would set "logx".
- The TeX is what the author typed: the markdown reaching the renderer has been through
  nbconvert's ``SanitizeHTML`` (``page_safety.protect``), which writes ``<`` and ``&`` as
  ``&lt;`` and ``&amp;``; so the math is un-escaped once, as MathJax would read it.
"""

from __future__ import annotations

import html
from xml.etree.ElementTree import Element

from latex2mathml.commands import FUNCTIONS
from latex2mathml.converter import convert_to_element
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

__all__ = ["TEX_ENCODING", "MathMLRenderer", "markdown_to_html", "to_mathml"]

TEX_ENCODING = "application/x-tex"
FUNCTION_NAMES = frozenset(command.removeprefix("\\") for command in FUNCTIONS)  # log, sin
SCRIPTED = ("msub", "msup", "msubsup")  # \log_2 n, \sin^2 x
APPLY = "\u2061"  # FUNCTION APPLICATION: sin x is sin of x, not sin times x
THIN_SPACE = "0.1667em"  # TeX's space between an operator's name and what follows it
# Elements whose children are a row (in the others, msub or mfrac, each child has its place)
ROWS = ("math", "mrow", "mstyle", "mpadded", "mphantom", "menclose", "msqrt", "mtd")


def _function(element: Element) -> bool:
    base = element[0] if element.tag in SCRIPTED and len(element) else element
    return base.tag == "mi" and base.text in FUNCTION_NAMES


def _apply_functions(tree: Element) -> None:
    """After each function name that an argument without brackets follows (an ``<mo>``, such
    as ``(`` or ``=``, spaces itself), the function application and a thin space."""
    for parent in [element for element in tree.iter() if element.tag in ROWS]:
        children = list(parent)
        for at in reversed(range(len(children) - 1)):
            if _function(children[at]) and children[at + 1].tag != "mo":
                apply = Element("mo")
                apply.text = APPLY
                parent[at + 1:at + 1] = [apply, Element("mspace", width=THIN_SPACE)]


def _text(text: str | None) -> str:
    # latex2mathml writes symbols as character references (&#x27E8;) for its own final
    # un-escaping: decoded here, then escaped as text
    return html.escape(html.unescape(text or ""), quote=False)


def _markup(element: Element) -> str:
    attributes = "".join(f' {name}="{html.escape(value)}"'
                         for name, value in element.attrib.items())
    inside = _text(element.text) + "".join(_markup(child) + _text(child.tail)
                                           for child in element)
    return f"<{element.tag}{attributes}>{inside}</{element.tag}>"


def as_code(tex: str, display: bool) -> str:
    """The formula as the author wrote it, delimiters included, in ``<code>`` (which MathJax
    skips, where a page has it)."""
    delimiter = "$$" if display else "$"
    return f"<code>{html.escape(delimiter + tex + delimiter, quote=False)}</code>"


def to_mathml(tex: str, display: bool) -> str:
    """``tex`` as a ``<math>`` element, its TeX as the annotation; ``as_code`` if latex2mathml
    cannot convert it."""
    try:
        tree = convert_to_element(tex, display="block" if display else "inline")
        _apply_functions(tree)
        body = "".join(_markup(child) for child in tree)  # latex2mathml's one <mrow>
    except Exception:  # a student's TeX fails in many ways (latex2mathml's own errors,
        return as_code(tex, display)  # IndexError, RecursionError): the page is still written
    return (f'<math display="{"block" if display else "inline"}"><semantics>{body}'
            f'<annotation encoding="{TEX_ENCODING}">{_text(tex)}</annotation>'
            "</semantics></math>")


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, which writes math as MathML instead of as TeX."""

    def inline_math(self, body: str) -> str:
        return to_mathml(html.unescape(body), display=False)

    def block_math(self, body: str) -> str:
        return to_mathml(html.unescape(body), display=True)

    def latex_environment(self, name: str, body: str) -> str:
        return to_mathml(html.unescape(f"\\begin{{{name}}}{body}\\end{{{name}}}"),
                         display=True)


def markdown_to_html(exporter, context, source: str) -> str:
    """``HTMLExporter.markdown2html`` (nbconvert 7) with :class:`MathMLRenderer`: the same
    markdown, attachments, embedded images and heading anchors, as the exporter sets them."""
    cell = context.get("cell", {})
    renderer = MathMLRenderer(
        escape=False,
        attachments=cell.get("attachments", {}),
        embed_images=exporter.embed_images,
        path=context.get("resources", {}).get("metadata", {}).get("path", ""),
        anchor_link_text=exporter.anchor_link_text,
        exclude_anchor_links=exporter.exclude_anchor_links,
        **exporter.lexer_options,
    )
    return MarkdownWithMath(renderer=renderer).render(source)
