"""Pages that show a student's notebook run nothing and fetch nothing.

A feedback page is opened by the student, and formgrader's review page in the instructor's
Jupyter session, where a script could open a terminal. nbconvert's ``SanitizeHTML`` escapes
the markup of markdown cells and HTML outputs, but leaves three holes, closed here:

- output metadata: nbconvert's templates print an image's ``width`` and ``height``
  unquoted (``width={{ width }}``), so ``{"width": "1 onerror=..."}`` is a script;
  ``isolated`` builds an iframe and ``filenames`` becomes an image's ``src``.
  :class:`SanitizeOutputMetadata` keeps only what the templates read, in the types
  they expect.
- markdown: the links and images that markdown itself writes (``[a](javascript:...)``,
  ``![g](http://host/x.png)``) are not markup ``SanitizeHTML`` can see. :class:`SafeMarkdown`
  replaces nbconvert's ``markdown2html`` filter (markdown cells and ``text/markdown``
  outputs) and cleans the HTML it renders (:func:`clean_fragment`). It also writes the
  markdown's TeX as MathML (``math_markup``), which a browser draws without a script; the
  cleaning keeps of MathML only the elements and attributes that draw a formula.
- whatever a sanitizer misses: :func:`with_csp` gives a page we write a Content-Security-
  Policy under which no script runs and nothing outside the page loads. Formgrader's page
  cannot have one (its own scripts would stop), so there the two sanitizers stand alone.

``nbgrader_config.py`` imports this module, so it stays light: nbconvert (with its jinja2
and traitlets), bleach, latex2mathml (pure Python, without dependencies) and the standard
library.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import bleach
from bleach.css_sanitizer import CSSSanitizer
from bleach.html5lib_shim import Filter
from jinja2 import pass_context
from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.preprocessors import Preprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat.notebooknode import NotebookNode, from_dict
from traitlets.config import Config, LoggingConfigurable
from traitlets.utils.importstring import import_item

from autograder.grader.math_markup import TEX_ENCODING, markdown_to_html

__all__ = ["CSP", "CSP_META", "MATH_TAGS", "SafeMarkdown", "SanitizeOutputMetadata",
           "clean_fragment", "protect", "with_csp"]

# --- output metadata -----------------------------------------------------------------------

# Where the templates look: each image type's own metadata, then the output's top level
# (nbconvert.filters.get_metadata).
IMAGE_TYPES = ("image/png", "image/jpeg")
BACKGROUNDS = ("light", "dark")


def _size(value) -> int | None:
    """A width or height: a positive number, as a whole number of pixels."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if 1 <= value < 1e6 else None


def _image_metadata(md: dict) -> dict:
    """The keys the templates read for an image, each kept only in the type they expect."""
    kept: dict = {}
    for key in ("width", "height"):
        if (size := _size(md.get(key))) is not None:
            kept[key] = size
    if md.get("unconfined") is True:
        kept["unconfined"] = True
    if md.get("needs_background") in BACKGROUNDS:
        kept["needs_background"] = md["needs_background"]
    if isinstance(md.get("alt"), str):  # printed escaped, in quotes
        kept["alt"] = md["alt"]
    return kept


def safe_output_metadata(md: dict) -> dict:
    """Output metadata reduced to what renders an image, in well-formed values.

    Everything else goes: ``isolated`` (an iframe of the output), ``filenames`` (an image's
    ``src``; these pages embed their images), and any key no template reads.
    """
    kept = _image_metadata(md)
    for mimetype in IMAGE_TYPES:
        if isinstance(md.get(mimetype), dict) and (image := _image_metadata(md[mimetype])):
            kept[mimetype] = image
    return kept


class SanitizeOutputMetadata(Preprocessor):
    """Replace every output's metadata by :func:`safe_output_metadata` of it."""

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        index: int) -> tuple[NotebookNode, ResourcesDict]:
        for output in cell.get("outputs", []):
            if "metadata" in output:
                md = output.metadata
                output.metadata = from_dict(safe_output_metadata(
                    md if isinstance(md, dict) else {}))
        return cell, resources


# --- markdown ------------------------------------------------------------------------------

# What nbconvert's markdown writes (headings with anchor links, highlighted code, tables,
# task lists, definition lists), and the markup SanitizeHTML leaves in markdown (kbd).
TAGS = {"a", "abbr", "acronym", "b", "blockquote", "br", "code", "dd", "del", "div", "dl",
        "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "kbd", "li",
        "ol", "p", "pre", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul"}
ATTRIBUTES = {
    "a": {"href", "title", "class"}, "img": {"src", "alt", "title"},
    "abbr": {"title"}, "acronym": {"title"}, "ol": {"start"},
    "div": {"class"}, "span": {"class"}, "pre": {"class"}, "code": {"class"}, "li": {"class"},
    "input": {"type", "class", "disabled", "checked"},  # a task list's checkbox
    "th": {"style"}, "td": {"style"},  # a table column's alignment
    **{f"h{n}": {"id"} for n in range(1, 7)},  # the target of the heading's anchor link
}
LINK_SCHEMES = ("http", "https", "mailto")

# MathML: the elements latex2mathml writes, which draw a formula and do nothing else; and the
# formula's TeX in an <annotation>, inside <semantics>, which shows only its first child.
# Left out, whatever the markup asks: <annotation-xml> (with encoding="text/html" its content
# is HTML, a place for markup to hide behind a formula), <maction> (Firefox acts on clicks),
# <mglyph> (fetches its src), and any element latex2mathml does not write.
MATH_TAGS = {"math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "mtext", "mspace",
             "msub", "msup", "msubsup", "munder", "mover", "munderover", "mfrac", "msqrt",
             "mroot", "mstyle", "mpadded", "mphantom", "menclose", "mtable", "mtr", "mtd"}
# Their attributes are the presentation attributes latex2mathml writes, each with a value of
# its kind. Never: href (a link in Firefox; xlink:href reaches the rule as href too), style
# and class (\style and \class), id, the on* event handlers, which MathML elements run like
# HTML ones, and voffset (\raise: it moves a formula over the page, nested ones without
# bound).
MATH_WORDS = {"mathvariant", "displaystyle", "scriptlevel", "stretchy", "fence", "separator",
              "form", "movablelimits", "largeop", "symmetric", "accent", "accentunder",
              "notation", "columnalign", "rowalign", "columnlines", "rowlines", "linebreak"}
MATH_LENGTHS = {"width", "height", "depth", "lspace", "rspace", "minsize", "maxsize",
                "mathsize", "linethickness", "columnspacing", "rowspacing"}
MATH_COLORS = {"mathcolor", "mathbackground"}
WORDS = re.compile(r"[A-Za-z0-9+ -]{1,60}")  # true, updiagonalstrike, sans-serif, +1
COLOR = re.compile(r"#[0-9A-Fa-f]{3,8}|[A-Za-z]{1,30}")  # no url(), no other CSS
# A length is at most 10 of its unit: \hspace{1000em} would push the page apart, and a large
# negative one (\! writes small ones) would lay a formula over what stands beside it. A number,
# then a unit or one of mpadded's pseudo-units.
LENGTH = re.compile(r"([+-]?(?:\d{1,2}(?:\.\d*)?|\.\d+))"
                    r"(em|ex|px|pt|pc|cm|mm|in|mu|%|width|height|depth)?")


def _normalized(url: str) -> str:
    """The URL as a browser reads its scheme: character references decoded (bleach keeps
    them as written), whitespace and control characters dropped (``java&#9;script:`` is
    ``javascript:`` to a browser), lower case."""
    return re.sub(r"[\x00-\x20\x7f-\xa0\s]+", "", html.unescape(url)).lower()


def safe_link(href: str) -> bool:
    """A link may go to the web, to a mail address or within the page; nowhere else
    (``javascript:``, ``vbscript:``, ``data:``, ``file:``, relative paths into the disk)."""
    url = _normalized(href)
    return url.startswith("#") or urlsplit(url).scheme in LINK_SCHEMES


def inline_image(src: str) -> bool:
    """An image the page holds itself; any other source would be fetched when shown."""
    return _normalized(src).startswith("data:image/")


def _short_lengths(value: str) -> bool:
    """One or more lengths (columnspacing has one per column), none longer than 10."""
    found = [LENGTH.fullmatch(part) for part in value.split()]
    return bool(found) and all(m is not None and abs(float(m[1])) <= 10 for m in found)


def _allowed_math_attribute(tag: str, name: str, value: str) -> bool:
    if tag == "math":
        return name == "display" and value in ("block", "inline")
    if tag == "annotation":
        return name == "encoding" and value == TEX_ENCODING
    if name in MATH_COLORS:
        return COLOR.fullmatch(value) is not None
    if name in MATH_LENGTHS:
        return _short_lengths(value)
    return name in MATH_WORDS and WORDS.fullmatch(value) is not None


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if tag in MATH_TAGS:
        return _allowed_math_attribute(tag, name, value)
    if name == "href":
        return tag == "a" and safe_link(value)
    if tag == "input" and name == "type":
        return value == "checkbox"
    return name in ATTRIBUTES.get(tag, ())


class _OuterImagesAsText(Filter):
    """An image from elsewhere becomes text naming it: shown, it would be fetched."""

    def __iter__(self):
        for token in super().__iter__():
            attrs = token.get("data") if token["type"] in ("StartTag", "EmptyTag") else None
            src = attrs.get((None, "src")) if token.get("name") == "img" and attrs else None
            if src is not None and not inline_image(src):
                # bleach keeps character references; the serializer escapes text again
                alt = html.unescape(attrs.get((None, "alt")) or "image")
                yield {"type": "Characters",
                       "data": f"[{alt}: {html.unescape(src)}, not loaded]"}
            else:
                yield token


def clean_fragment(fragment: str) -> str:
    """HTML rendered from markdown, with only the tags and attributes markdown writes, links
    only as :func:`safe_link` allows, images only from the page itself, and MathML only as
    :data:`MATH_TAGS` and its attribute rules allow.

    Foreign content (MathML) is where parsers disagree (mutation XSS): bleach escapes every
    element it does not allow, among them all whose text the parser reads raw (style, script,
    textarea, title, xmp, noscript, iframe, noembed, noframes), and drops comments, so no
    text of the result can become markup when the browser parses it again."""
    cleaner = bleach.Cleaner(
        tags=TAGS | MATH_TAGS, attributes=_allowed_attribute,
        protocols={*LINK_SCHEMES, "data"},  # data: for images; links are judged above
        css_sanitizer=CSSSanitizer(allowed_css_properties=["text-align"]),
        filters=[_OuterImagesAsText])
    return cleaner.clean(fragment)


@pass_context
class SafeMarkdown(LoggingConfigurable):
    """nbconvert's ``markdown2html`` filter, with math as MathML, its HTML cleaned by
    :func:`clean_fragment`.

    Registered as ``HTMLExporter.filters["markdown2html"]``: the exporter builds it with
    itself as ``parent``, and its settings (attachments, embedded images, anchor links) shape
    the markdown, as in its own filter (``math_markup.markdown_to_html``). Formgrader's page
    loads MathJax, which has nothing left to do: its configuration there reads TeX only
    (``TeX-AMS_CHTML``), and skips ``<code>`` and ``<annotation>``, where the TeX now is. So the
    grader sees the formulas as the student does, drawn by the browser.
    """

    def __call__(self, context, source: str) -> str:
        return clean_fragment(markdown_to_html(self.parent, context, source))


def protect(config: Config) -> None:
    """Put both sanitizers, this module's and nbconvert's ``SanitizeHTML``, into an
    HTMLExporter configuration, whatever it held, so that a page never goes without them."""
    exporter = config.HTMLExporter
    chain = list(exporter.get("preprocessors", []))
    named = {import_item(p) if isinstance(p, str) else p for p in chain}
    chain += [p for p in (SanitizeHTML, SanitizeOutputMetadata) if p not in named]
    exporter.preprocessors = chain
    exporter.filters = {**exporter.get("filters", {}), "markdown2html": SafeMarkdown}


# --- the page ------------------------------------------------------------------------------

# No script, no frame, no request: images only from data: URLs, styles only from the page.
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
       "base-uri 'none'; form-action 'none'")
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
HEAD = re.compile(r"<head(?:\s[^>]*)?>", re.I)


def with_csp(page: str) -> str:
    """The page with :data:`CSP` as the first element of its ``<head>`` (a policy binds only
    what comes after it). A page without a ``<head>`` is refused: ``ValueError``."""
    head = HEAD.search(page)
    if head is None:
        raise ValueError("the page has no <head> to put its Content-Security-Policy in")
    return page[:head.end()] + CSP_META + page[head.end():]
