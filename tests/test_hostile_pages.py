"""A student's notebook in a page: no script runs, nothing is fetched (page_safety).

Each attack is shown first to work in a page made as before (nbconvert's HTML export with the
``SanitizeHTML`` the course had, which is what formgrader's review page and nbgrader's feedback
were), then to fail in a page made with the course's ``nbgrader_config.py``, and then once
more with only the Content-Security-Policy, which must hold even where a sanitizer misses.
Pages are opened as a student opens one (a file) in headless Chromium, driven by selenium,
beside a web server on 127.0.0.1 that notes every request. The notebooks are built here.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bleach
import nbformat
import nbformat.v4 as v4
import pytest
from formgrader_driver import NoBrowser, chromium
from nbconvert import HTMLExporter
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.grader.course import NBGRADER_CONFIG
from autograder.grader.feedback import model_section
from autograder.grader.page_safety import CSP, protect, safe_output_metadata, with_csp
from autograder.student.export_cell import HISTORY_BYTES

from helpers import (
    ROOT,
    digit_assignment,
    place,
    run_grade,
    tiny_course_at,
    tiny_submission,
    unavailable,
)

# A 1x1 transparent PNG (what the web server answers, and a legitimate inline image).
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhf"
                       "DwAChwGA60e6kgAAAABJRU5ErkJggg==")
PNG64 = base64.b64encode(PNG).decode()
# A script that leaves a mark the test can read: a data-ran_* attribute on <body>.
MARK = "document.body.dataset.ran_{}=1"
MARKS_JS = """return Object.fromEntries(Object.entries(document.body.dataset)
  .filter(([key]) => key.startsWith('ran_')).map(([key, v]) => [key.slice(4), v]))"""
# Markdown links that run script when clicked: plain, entity-encoded, by reference.
LINKS = ("[plain](javascript:void({mark}))\n\n"
         "[encoded](&#106;avascript:void({mark}))\n\n"
         "[by reference][r]\n\n[r]: javascript:void({mark})\n\n"
         "[vb](vbscript:msgbox) [html](data:text/html,hi) [disk](file:///etc/passwd)\n")
SCRIPT_LINKS = ("plain", "encoded", "by reference")
ATTACK_LINKS = (*SCRIPT_LINKS, "vb", "html", "disk")


def course_config() -> Config:
    """The course's nbgrader_config.py, which formgrader and nbgrader's feedback read."""
    return PyFileConfigLoader(NBGRADER_CONFIG.name, path=str(NBGRADER_CONFIG.parent)
                              ).load_config()


def before_config() -> Config:
    """The HTML export as the course configured it before page_safety: SanitizeHTML alone."""
    c = Config()
    c.HTMLExporter.preprocessors = [SanitizeHTML]
    c.SanitizeHTML.tags = [*bleach.ALLOWED_TAGS, "kbd"]
    return c


LIBRARIES = ("jquery_url", "require_js_url", "mathjax_url")


def render(nb, config: Config, template: str = "classic") -> str:
    """nbconvert's HTML export (nbgrader's feedback and review pages extend "classic"),
    without its libraries from a CDN (this machine may not reach one, and waiting for it
    costs seconds; nbgrader's own pages do not load them either)."""
    config = config.copy()
    for library in LIBRARIES:
        config.HTMLExporter[library] = ""
    return HTMLExporter(config=config, template_name=template).from_notebook_node(nb)[0]


# --- a web server that notes what the page fetched ------------------------------------------

class Listener:
    """A web server on 127.0.0.1 that answers every GET with a PNG and notes its path."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)

            def log_message(self, *args):  # the test reads self.paths, not the log
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    found = Listener()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
            yield driver
    except NoBrowser as exc:
        unavailable(str(exc))


@pytest.fixture
def visit(browser, listener, tmp_path):
    """visit(page) opens the HTML as a student opens a file, after its load event (images
    loaded or failed, so their handlers have run), and returns (marks, requests): the
    marks scripts left, and the paths the web server was asked for, sorted."""
    def opened(page: str) -> tuple[dict, list[str]]:
        listener.paths.clear()
        path = tmp_path / f"page{len(list(tmp_path.glob('*.html')))}.html"
        path.write_text(page, encoding="utf-8")
        browser.get(path.as_uri())  # selenium returns once the page has loaded
        return marks(browser), sorted(listener.paths)  # fetched in parallel
    return opened


def marks(browser) -> dict:
    """What the page's scripts marked (ran_width=1 is {"width": "1"})."""
    return browser.execute_script(MARKS_JS)


def click_the_script_links(browser) -> dict:
    """Click the links of LINKS that run script; the marks 0.3 s later (a javascript: URL runs
    in a task of its own, well within that, as the unprotected pages show). The others would
    leave the page (file:) or are refused by Chromium anyway (vbscript:, data: at the top)."""
    browser.execute_script(
        "document.querySelectorAll('a').forEach(a => arguments[0].includes(a.textContent)"
        " && a.click())", list(SCRIPT_LINKS))
    browser.execute_async_script("setTimeout(arguments[0], 300)")
    return marks(browser)


def links(browser) -> list[tuple[str, str | None]]:
    """(text, href) of every link but the headings' anchors."""
    return [tuple(pair) for pair in browser.execute_script(
        "return Array.from(document.querySelectorAll('a:not(.anchor-link)'),"
        " a => [a.textContent, a.getAttribute('href')])")]


# --- the notebooks -------------------------------------------------------------------------

def shown(data: dict, metadata: dict | None = None):
    """A display_data output, as IPython's display() leaves one."""
    return v4.new_output("display_data", data=data, metadata=metadata or {})


def metadata_notebook(url: str):
    """Outputs whose metadata attacks: a script in an unquoted width and height, an iframe,
    an image fetched from ``url``; and one legitimate image, 50 pixels wide."""
    cell = v4.new_code_cell("show()")
    cell.outputs = [
        shown({"image/png": "AAAA"},
                      {"image/png": {"width": f"1 onerror={MARK.format('width')}"}}),
        shown({"image/jpeg": "AAAA"},
                      {"height": f"1 onerror={MARK.format('height')}"}),
        shown({"text/html": "<b>isolated</b>"},
                      {"text/html": {"isolated": True}}),
        shown({"image/png": PNG64},
                      {"filenames": {"image/png": f"{url}/filenames.png"}}),
        shown({"image/png": PNG64},
                      {"image/png": {"width": 50, "needs_background": "light"}}),
    ]
    nb = v4.new_notebook()
    nb.cells = [cell]
    return nb


def markdown_notebook(url: str):
    """The same tricks in a markdown cell and in a text/markdown output: links that run
    script, an image from ``url``; beside what must survive (anchors, a web link, a table,
    an inline image)."""
    cell = v4.new_code_cell("show()")
    cell.outputs = [shown({"text/markdown": (
        LINKS.format(mark=MARK.format("outputlink"))
        + f"\n![output image]({url}/markdown-output.png)\n")})]
    nb = v4.new_notebook()
    nb.cells = [v4.new_markdown_cell(
        "# My notes\n\n" + LINKS.format(mark=MARK.format("celllink"))
        + f"\n![cell image]({url}/markdown-cell.png)\n\n"
        f"[the course](https://example.org/course) [up](#My-notes)\n\n"
        f"| a | b |\n|:-|-:|\n| 1 | 2 |\n\n![dot](data:image/png;base64,{PNG64})\n"), cell]
    return nb


# --- fast: the rules, without a browser ----------------------------------------------------

def test_output_metadata_keeps_well_formed_image_keys_only():
    md = {"image/png": {"width": 640.0, "height": "1 onerror=x", "needs_background": "light",
                        "unconfined": True, "alt": "a plot", "isolated": True},
          "image/jpeg": {"width": True, "height": -3},
          "text/html": {"isolated": True}, "filenames": {"image/png": "http://h/x.png"},
          "width": 10, "needs_background": "<script>", "anything": "else"}
    assert safe_output_metadata(md) == {
        "width": 10,
        "image/png": {"width": 640, "needs_background": "light", "unconfined": True,
                      "alt": "a plot"}}


def test_the_policy_is_the_first_element_of_head_and_a_page_without_head_is_refused():
    page = with_csp('<!DOCTYPE html><html><HEAD lang="en"><meta charset="utf-8"></HEAD></html>')
    assert page.startswith('<!DOCTYPE html><html><HEAD lang="en"><meta http-equiv='
                           f'"Content-Security-Policy" content="{CSP}"><meta charset=')
    with pytest.raises(ValueError, match="no <head>"):
        with_csp("<html><header>no head</header></html>")


def test_protect_puts_the_sanitizers_into_a_configuration_without_them():
    """As `python -m autograder feedback` does, whatever nbgrader_config.py says."""
    nb = metadata_notebook("http://127.0.0.1:9")
    nb.cells += markdown_notebook("http://127.0.0.1:9").cells
    holes = ("onerror=", 'href="javascript:', 'src="http://127.0.0.1:9/')
    bare = render(nb, Config())
    assert [hole for hole in holes if hole in bare] == list(holes)
    config = Config()
    config.HTMLExporter.preprocessors = ["nbconvert.preprocessors.sanitize.SanitizeHTML"]
    protect(config)
    assert len(config.HTMLExporter.preprocessors) == 2  # SanitizeHTML once, by name or class
    page = render(nb, config)
    assert [hole for hole in holes if hole in page] == []


# --- in a browser: each attack before, and after -------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("template", ["classic", "lab"])
def test_output_metadata_runs_no_script_and_fetches_nothing(visit, listener, browser,
                                                            template):
    nb = metadata_notebook(listener.url)
    page = render(nb, before_config(), template)
    assert visit(page) == ({"width": "1", "height": "1"}, ["/filenames.png"])
    if template == "classic":  # the lab template ignores "isolated"
        assert browser.find_elements("css selector", "iframe")

    assert visit(render(nb, course_config(), template)) == ({}, [])
    assert browser.find_elements("css selector", "iframe") == []
    widths = browser.execute_script(
        "return Array.from(document.images, i => i.getAttribute('width'))")
    assert widths == [None, None, None, "50"]  # the legitimate size still renders


@pytest.mark.slow
def test_markdown_links_run_no_script_and_images_are_not_fetched(visit, listener, browser):
    nb = markdown_notebook(listener.url)
    assert visit(render(nb, before_config())) == (
        {}, ["/markdown-cell.png", "/markdown-output.png"])
    assert click_the_script_links(browser) == {"celllink": "1", "outputlink": "1"}

    assert visit(render(nb, course_config())) == ({}, [])
    assert click_the_script_links(browser) == {}
    # each attack's link is there, as text going nowhere; the web and the page's own remain
    assert links(browser) == [*[(t, None) for t in ATTACK_LINKS],
                              ("the course", "https://example.org/course"), ("up", "#My-notes"),
                              *[(t, None) for t in ATTACK_LINKS]]
    text = browser.find_element("tag name", "body").text
    assert f"[cell image: {listener.url}/markdown-cell.png, not loaded]" in text
    assert f"[output image: {listener.url}/markdown-output.png, not loaded]" in text
    # what markdown is for still renders: the heading's anchor, the table, the inline image
    assert browser.execute_script(
        "return [document.querySelector('h1 a.anchor-link').getAttribute('href'),"
        " getComputedStyle(document.querySelector('td:last-child')).textAlign,"
        " Array.from(document.images, i => i.naturalWidth)]") == ["#My-notes", "right", [1]]


@pytest.mark.slow
def test_the_policy_alone_stops_what_the_sanitizers_miss(visit, browser, listener):
    for nb in (metadata_notebook(listener.url), markdown_notebook(listener.url)):
        page = with_csp(render(nb, before_config()))
        assert visit(page) == ({}, [])
        assert click_the_script_links(browser) == {}


# --- end to end: python -m autograder feedback ---------------------------------------------

def hostile_submission(url: str) -> str:
    """The tiny assignment, correct, whose `add` cell also displays the attacks (as any
    student code can: publish_display_data sets data and metadata) and whose notebook ends
    with a markdown cell of them."""
    nb = nbformat.reads(tiny_submission(
        "    return a + b\n\n"
        "from IPython.display import Markdown, display, publish_display_data\n"
        f"publish_display_data({{'image/png': 'AAAA'}},\n"
        f"    {{'image/png': {{'width': '1 onerror={MARK.format('width')}'}}}})\n"
        f"publish_display_data({{'image/png': {PNG64!r}}},\n"
        f"    {{'filenames': {{'image/png': '{url}/filenames.png'}}}})\n"
        f"display(Markdown({LINKS.format(mark=MARK.format('outputlink'))!r}\n"
        f"    + '![output image]({url}/markdown-output.png)'))\n"), as_version=4)
    nb.cells.append(v4.new_markdown_cell(LINKS.format(mark=MARK.format("celllink"))
                                         + f"\n![cell image]({url}/markdown-cell.png)\n"))
    return nbformat.writes(nb)


@pytest.mark.slow
def test_a_feedback_page_of_a_hostile_notebook_runs_and_fetches_nothing(
        visit, browser, listener, tmp_path):
    course = tiny_course_at(tmp_path / "course")
    place(tmp_path / "class", "mallory", hostile_submission(listener.url))
    grades, output = run_grade(course, tmp_path / "class")
    assert grades["submissions"][0]["score"] == 5, output
    graded = nbformat.read(course / "autograded/mallory/tiny_add/tiny_add.ipynb",
                           as_version=4)
    assert visit(render(graded, before_config())) == (
        {"width": "1"}, ["/filenames.png", "/markdown-cell.png", "/markdown-output.png"])
    assert click_the_script_links(browser) == {"width": "1", "celllink": "1", "outputlink": "1"}

    proc = subprocess.run([sys.executable, "-m", "autograder", "feedback", "--course-dir",
                           str(course)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (course / "feedback/mallory/tiny_add/tiny_add.html").read_text()
    assert visit(page) == ({}, [])
    assert click_the_script_links(browser) == {}
    assert browser.execute_script(
        "const m = document.head.firstElementChild;"
        "return [m.httpEquiv, m.content]") == ["Content-Security-Policy", CSP]
    found = links(browser)
    assert [h for t, h in found if t in ATTACK_LINKS] == [None] * 2 * len(ATTACK_LINKS)
    assert all(h is None or h.startswith("#") for t, h in found)  # nbgrader's own: "#test_add"
    text = browser.find_element("tag name", "body").text
    assert "Grade cell: test_add" in text
    assert f"[output image: {listener.url}/markdown-output.png, not loaded]" in text


# --- the training history a page plots -----------------------------------------------------

def test_a_history_json_that_is_not_read_is_a_note_on_the_page(tmp_path):
    """history.json comes from the student's run: a link to someone else's file, a FIFO
    (which blocks whoever opens it) or a huge file is not read; the page says so."""
    secret = tmp_path / "other-student-history.json"
    secret.write_text('{"loss": [9.0, 8.0]}')
    cases = {"link": lambda f: f.symlink_to(secret), "fifo": os.mkfifo,
             "huge": lambda f: f.write_bytes(b" " * (HISTORY_BYTES + 1))}
    for name, make in cases.items():
        artifacts = tmp_path / name
        artifacts.mkdir()
        make(artifacts / "history.json")
        section = model_section(digit_assignment(), artifacts)
        assert "The saved training history was not read" in section, name
        assert "<img" not in section, name
    # Read by its path, as before, the link gives the other student's history to plot.
    assert (tmp_path / "link" / "history.json").read_text() == secret.read_text()
