"""How the figures reach the notebook: each one with a description of what it shows.

nbconvert writes "No description has been provided for this image" as the alt text of every
image that has none. The alt text of a notebook's image is its output's metadata
``{"image/png": {"alt": ...}}`` (IPython's convention), which nbconvert's classic HTML
template writes as the ``<img>``'s ``alt`` (nbgrader's feedback and formgrader pages extend
it). So in a Jupyter kernel with the inline backend, :func:`show` displays the figure itself
with that metadata, and the same words as its plain-text version (what a front end that
shows no images prints), then closes it, so that the backend does not show it a second time
when the cell ends. Anywhere else (a script, the grader, the tests) it only records the
description, for :func:`alt_text`.

IPython is not imported here: in a kernel it is loaded already, and the helpers stay free of
it everywhere else.
"""

from __future__ import annotations

import sys

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

# The inline backend's names: matplotlib's backend registry, the module it stands for.
INLINE = ("inline", "module://matplotlib_inline.backend_inline")
_ALT = "_digit_helpers_alt"  # the attribute of a Figure that holds its description


def alt_text(fig: Figure) -> str | None:
    """The description :func:`show` gave ``fig`` (None for a figure it never saw)."""
    return getattr(fig, _ALT, None)


def _inline() -> bool:
    try:
        backend = matplotlib.get_backend(auto_select=False)  # never picks one
    except TypeError:  # matplotlib before 3.10: the value as set, without resolving it
        backend = dict.__getitem__(matplotlib.rcParams, "backend")
    return backend in INLINE


def _kernel_shell():
    """The IPython shell this code runs in, when there is one and figures are inline."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if shell is not None and _inline() else None


def show(fig: Figure, alt: str) -> Figure:
    """Give ``fig`` the description ``alt`` and, in Jupyter, show it now with it; return it.

    The PNG is the one the inline backend would have shown (its formatter draws it), with
    ``alt`` as its alt text and as its plain-text version. The figure is then closed: to
    change it afterwards, show it again with ``display(fig)``.
    """
    setattr(fig, _ALT, alt)
    shell = _kernel_shell()
    if shell is None:
        return fig
    data, metadata = shell.display_formatter.format(fig)
    if "image/png" not in data:  # another figure format configured: leave it to the backend
        return fig
    data["text/plain"] = alt
    metadata = {**metadata, "image/png": {**metadata.get("image/png", {}), "alt": alt}}
    shell.display_pub.publish(data=data, metadata=metadata)  # as IPython's display(raw=True)
    plt.close(fig)
    return fig
