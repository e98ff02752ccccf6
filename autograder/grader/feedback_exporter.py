"""The notebook part of a feedback page: nbconvert's HTML exporter with our template.

nbgrader renders feedback with its own template (``feedback``), which fails WCAG 2.1 AA on
every page: code and traceback colours under 4.5:1, "(Top)" and ``¶`` links told apart by
colour alone, headings that jump levels, a page without ``lang``, tracebacks that scroll but
cannot be reached with the keyboard. :class:`FeedbackExporter` renders the same notebook
through ``templates/autograder_feedback`` (its own comment says what it changes) and
``page_style``'s stylesheet, and after rendering:

- outlines the headings: the notebook's sit under the page's (its ``#`` is an ``<h3>``,
  under the notebook's ``<h2>`` title), and none is more than one level below the one before
  it, whatever levels the notebook's author chose (a screen reader's list of headings then
  reads as a tree);
- puts every ``<pre>`` in the tab order, named (the template names those of cells, by their
  grade id or prompt; markdown's are named here): one wider than the page scrolls, and a
  region that scrolls must be reachable without a mouse (WCAG 2.1.1).

Colours a program prints as numbers are made readable (``page_style.readable``) and the
backgrounds it prints are dropped (:func:`ansi2html`).

The template, the stylesheet and the anchor links are the exporter's, whatever the
configuration it is given names (nbgrader sets ``HTMLExporter.template_name`` for its own):
``feedback`` forces this exporter on nbgrader's ``GenerateFeedback``, and a course's
``nbgrader_config.py`` can too (``c.GenerateFeedback.exporter_class``), for ``nbgrader
generate_feedback`` and formgrader's "Generate Feedback". The sanitizers of ``page_safety``
come with the configuration, as for nbgrader's own exporter.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import nbgrader
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.ansi import ansi2html as nbconvert_ansi2html
from traitlets.config import Config

from autograder.grader import page_style

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "autograder_feedback"
# Bootstrap 3, as nbgrader ships it for its feedback pages (the template inlines it).
BOOTSTRAP = (Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader"
             / "static" / "node_modules" / "bootstrap" / "dist" / "css")

# What the exporter sets, over any configuration.
OURS = {"template_name": TEMPLATE, "template_file": "index.html.j2",
        "extra_template_basedirs": [str(TEMPLATES)], "extra_template_paths": [str(BOOTSTRAP)],
        "exclude_anchor_links": False}

__all__ = ["FeedbackExporter", "ansi2html", "focusable_pres", "outline", "scrollable"]


# --- colours printed by programs --------------------------------------------------------------

SPAN_STYLE = re.compile(r'<span([^>]*?) style="([^"]*)">')


def _restyled(match: re.Match) -> str:
    kept = []
    for declaration in match[2].split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() == "color":
            rgb = tuple(int(n) for n in re.findall(r"\d+", value)[:3])
            kept.append(f"color: {page_style.readable(rgb)}")
        # a background-color goes: no text colour could be checked against it
    style = f' style="{"; ".join(kept)}"' if kept else ""
    return f"<span{match[1]}{style}>"


def ansi2html(text: str) -> str:
    """nbconvert's ``ansi2html``, its colours given as numbers made readable on an output's
    background and its backgrounds given as numbers dropped. (It escapes the text first, so
    the only ``<span style=...>`` in what it returns are its own.) The 16 named colours are
    classes, which ``page_style.ANSI`` colours."""
    return SPAN_STYLE.sub(_restyled, str(nbconvert_ansi2html(text)))


# --- the keyboard ---------------------------------------------------------------------------

def _attributes(label: str) -> str:
    return f'tabindex="0" role="group" aria-label="{html.escape(label)}"'


def scrollable(fragment: str, label: str) -> str:
    """The first ``<pre>`` of ``fragment`` (highlighted code) in the tab order and named
    ``label``: a named group, not a landmark, since a page has one per cell."""
    return re.sub(r"<pre(?=[\s>])", lambda _: f"<pre {_attributes(label)}", str(fragment),
                  count=1)


UNREACHABLE_PRE = re.compile(r"<pre\b(?![^>]*\btabindex=)")
OTHER_CODE = "Code in the text"


def focusable_pres(page: str) -> str:
    """Every ``<pre>`` the template did not name (markdown's code blocks), named
    :data:`OTHER_CODE` and in the tab order. Markup only: the text of a page is escaped."""
    return UNREACHABLE_PRE.sub(lambda _: f"<pre {_attributes(OTHER_CODE)}", page)


# --- the headings ---------------------------------------------------------------------------

HEADING = re.compile(r"<h([1-6])\b([^>]*)>([\s\S]*?)</h\1\s*>", re.I)
# nbconvert's "¶" link at the end of a heading: a link inside text, named by a symbol. The
# heading keeps its id (which the link needs nbconvert to write), so the notebook's own links
# to its sections still land.
ANCHOR_LINK = re.compile(r'<a class="anchor-link" href="#[^"<>]*">¶</a>')
TITLE_ID = 'id="notebook-title"'


def outline(page: str, title_level: int = 2) -> str:
    """The notebook's headings below its title (``id="notebook-title"``, at
    ``title_level``): a notebook's ``<h1>`` becomes ``<h{title_level + 1}>`` and so on, and
    no heading is more than one level below the heading before it (nor below ``<h6>``).
    Headings before the title are left alone."""
    previous: int | None = None

    def level(match: re.Match) -> str:
        nonlocal previous
        if TITLE_ID in match[2]:
            previous = title_level
            return match[0]
        if previous is None:
            return match[0]
        new = min(int(match[1]) + title_level, previous + 1, 6)
        previous = new
        return f"<h{new}{match[2]}>{match[3]}</h{new}>"

    return HEADING.sub(level, page)


# --- the exporter ---------------------------------------------------------------------------

class FeedbackExporter(HTMLExporter):
    """HTMLExporter for feedback pages: see the module's docstring."""

    def __init__(self, config: Config | None = None, **kw):
        parent = kw.get("parent")
        given = config if config is not None else getattr(parent, "config", None)
        config = copy.deepcopy(given) if given is not None else Config()
        # The most specific section wins over HTMLExporter's, which nbgrader sets.
        config.merge(Config({type(self).__name__: OURS}))
        super().__init__(config=config, **kw)

    def default_filters(self):
        yield from super().default_filters()
        yield ("ansi2html", ansi2html)
        yield ("scrollable", scrollable)

    def _init_resources(self, resources):
        resources = super()._init_resources(resources)
        resources["page_css"] = page_style.CSS  # the environment escapes nothing
        return resources

    def from_notebook_node(self, nb, resources=None, **kw):
        page, resources = super().from_notebook_node(nb, resources, **kw)
        return focusable_pres(outline(ANCHOR_LINK.sub("", page))), resources
