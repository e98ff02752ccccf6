"""The look of the notebook page of feedback: colours that read, and code coloured to match.

Every colour of text here reads at 4.5:1 or more on every background the page gives it
(WCAG 2.1 AA, 1.4.3; tests/test_accessibility.py measures each pair, and runs axe-core on the
pages): the code of the cells in Pygments' ``a11y-light`` style (accessible-pygments, made for
AA), ANSI colours of outputs and tracebacks in :data:`ANSI`, prompts and captions in
:data:`MUTED`, links in :data:`LINK` and underlined (1.4.1: not told apart by colour alone).

A colour a program prints as a number (``ESC[38;5;28m``, ``ESC[38;2;r;g;bm``) is not one of
ours, so :func:`readable` darkens it, hue kept, until it reads on the output's background;
a background a program prints is not shown, since no text colour could be checked on it.

Bootstrap 3, which nbgrader ships and the page inlines, gives the layout (container, panels,
tables); these rules come after it and win where they meet.
"""

from __future__ import annotations

from a11y_pygments.a11y_light.style import Theme as A11yLight
from pygments.formatters import HtmlFormatter

# Text and its backgrounds (the header's ink, page_header.INK).
INK = "#1b1f24"
PAPER = "#ffffff"
OUTPUT = "#f6f8fa"   # behind outputs and tracebacks
MUTED = "#4a5360"    # prompts (In [1]:), captions
LINK = "#0b5cad"
LATE = "#a4161a"
FOCUS = "#0b5cad"    # the outline of what has the keyboard focus: 3:1 at least (1.4.11)
RULE = "#8a94a0"     # borders: not text
PYGMENTS_STYLE = A11yLight  # accessible-pygments' a11y-light
CODE = PYGMENTS_STYLE.background_color  # behind code cells

# nbconvert's class for each of the 16 ANSI colours (normal, then intense), as it names them.
ANSI = {
    "black": "#1b1f24", "red": "#b42318", "green": "#116633", "yellow": "#7f4707",
    "blue": "#0550ae", "magenta": "#8045e5", "cyan": "#00749c", "white": MUTED,
    "black-intense": "#4a5360", "red-intense": "#a4161a", "green-intense": "#0f5b2d",
    "yellow-intense": "#6b3d00", "blue-intense": "#033d8b", "magenta-intense": "#6a2bc4",
    "cyan-intense": "#005a78", "white-intense": MUTED,
}
AA = 4.5
# What readable() aims at: a little above AA, so that rounding in a browser's blending never
# puts a colour under the line.
TARGET = 4.6


def luminance(colour: str) -> float:
    """WCAG 2's relative luminance of an sRGB colour written ``#rrggbb``."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two colours, from 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{min(255, max(0, round(c))):02x}" for c in rgb)


def readable(rgb: tuple[int, int, int], background: str = OUTPUT) -> str:
    """``rgb`` as it is, if it reads on ``background`` at :data:`TARGET`; else darkened
    (each channel scaled alike, so the hue stays) until it does. Black always does."""
    for step in range(101):
        scale = 1 - step / 100
        colour = hex_colour(tuple(c * scale for c in rgb))
        if contrast(colour, background) >= TARGET:
            return colour
    return "#000000"


def pygments_css() -> str:
    """Pygments' rules for the code of cells and of markdown (class ``highlight``)."""
    return HtmlFormatter(style=PYGMENTS_STYLE).get_style_defs(".highlight")


def _ansi_css() -> str:
    return "\n".join(f".ansi-{name}-fg {{ color: {colour}; }}" for name, colour in ANSI.items())


CSS = f"""
body {{ color: {INK}; background: {PAPER}; }}
a, a:hover, a:focus {{ color: {LINK}; text-decoration: underline;
  text-underline-offset: 0.2em; }}
a code {{ color: inherit; background: transparent; padding: 0; }}
a:focus-visible, [tabindex]:focus-visible {{ outline: 3px solid {FOCUS}; outline-offset: 2px; }}
.table caption {{ color: {MUTED}; }}
.prompt {{ color: {MUTED}; font-family: monospace; font-size: 13px; }}
.late-penalty {{ color: {LATE}; }}
.highlight {{ background: {CODE}; border-radius: 4px; }}
.highlight pre {{ background: transparent; color: {INK}; border: 1px solid {RULE}; }}
.output_area pre {{ background: {OUTPUT}; color: {INK}; border: 1px solid {RULE}; }}
.output_html {{ overflow-x: auto; }}
div.nbgrader_cell .panel-heading {{ padding: 0.4em 0.6em; }}
div.nbgrader_cell .panel-body {{ padding: 0.4em; }}
#notebook-title {{ font-size: 18px; margin: 0; }}
{_ansi_css()}
.ansi-bold {{ font-weight: bold; }}
.ansi-underline {{ text-decoration: underline; }}
{pygments_css()}
"""
