"""Every page `feedback` writes passes WCAG 2.0 and 2.1, levels A and AA (issue 29).

axe-core (tests/axe.py) runs in headless Chromium on each kind of page, written from the
graded class (conftest's ``graded_class``, graded once per run): the solution's, a partial
one (65/100), the untouched release's (0, a traceback per test), a notebook that could not be
run, a student who handed in nothing, and a result merged from another machine's shard.
Each must have no WCAG violation and no ``heading-order`` or ``region`` warning (headings one
level at a time, everything in a landmark). The counts are printed per page, so a regression
names its rule. Then the keyboard alone goes through the partial page: Tab reaches every
link of the summary, every region that scrolls, and the link to the model's figures, which
takes the focus there.

The fast tests at the top check the colours and the heading outline without a browser.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import axe
import markdown_page
import nbformat
import pytest

from autograder.grader import feedback, page_style
from autograder.grader.course import Course
from autograder.grader.feedback_exporter import (
    FeedbackExporter,
    ansi2html,
    focusable_pres,
    outline,
)
from autograder.records import SubmissionResult, TestResult
from autograder.student.ci import summary_markdown

from helpers import BINARY_RELEASE, RELEASE, ROOT, by_student, unavailable

# kind of page -> the graded class's student whose page it is
STUDENTS = {"solution": "solution", "partial": "partial", "blank": "release",
            "failure": "truncated", "no submission": "two_unnamed"}
MERGED = "merged from a shard"
KINDS = (*STUDENTS, MERGED)


# --- without a browser -------------------------------------------------------------------------

def test_every_colour_of_the_notebook_page_reads_at_aa_on_every_background():
    backgrounds = (page_style.PAPER, page_style.OUTPUT, page_style.CODE)
    texts = {"ink": page_style.INK, "muted": page_style.MUTED, "link": page_style.LINK,
             "late": page_style.LATE, **{f"ansi-{k}": v for k, v in page_style.ANSI.items()}}
    code = {str(token): f"#{style['color']}" for token, style in page_style.PYGMENTS_STYLE
            if style["color"]}
    assert len(code) > 20  # the check has teeth: every token colour of a11y-light
    pairs = [(name, colour, bg) for name, colour in texts.items() for bg in backgrounds]
    pairs += [(token, colour, page_style.CODE) for token, colour in code.items()]
    weak = [(name, colour, bg, round(page_style.contrast(colour, bg), 2))
            for name, colour, bg in pairs if page_style.contrast(colour, bg) < page_style.AA]
    assert weak == []
    assert page_style.contrast(page_style.FOCUS, page_style.PAPER) >= 3  # a focus ring: 1.4.11


def test_colours_a_program_prints_are_darkened_until_they_read_and_backgrounds_go():
    # IPython's traceback green (256-colour 28) and grey-cyan (66), and a yellow on black
    text = ("\x1b[38;5;28mok\x1b[0m \x1b[38;5;66mfile\x1b[0m "
            "\x1b[38;2;255;255;0;48;2;0;0;0mhi\x1b[0m")
    shown = ansi2html(text)
    colours = re.findall(r'style="color: (#[0-9a-f]{6})"', shown)
    assert len(colours) == 3 and "background" not in shown
    assert all(page_style.contrast(c, page_style.OUTPUT) >= page_style.AA for c in colours)
    assert colours[0] == page_style.readable((0, 135, 0))  # darker, same hue: still green
    assert ansi2html("\x1b[31m<b>red</b>\x1b[0m") == (
        '<span class="ansi-red-fg">&lt;b&gt;red&lt;/b&gt;</span>')  # a class, text escaped


def test_the_notebooks_headings_sit_under_its_title_one_level_at_a_time():
    page = ('<h1>Feedback</h1><h2 id="notebook-title">nb</h2><h1 id="a">Title</h1>'
            '<h3>Jumped</h3><h2>Part</h2><h6>Deep</h6><h1>Again</h1>')
    assert re.findall(r"<(h\d)[^>]*>([^<]*)</\1>", outline(page)) == [
        ("h1", "Feedback"), ("h2", "nb"), ("h3", "Title"), ("h4", "Jumped"), ("h4", "Part"),
        ("h5", "Deep"), ("h3", "Again")]


def test_every_pre_can_be_reached_and_has_a_name():
    page = '<pre>x</pre><div class="highlight"><pre class="c">y</pre></div><pre tabindex="0">z'
    named = 'tabindex="0" role="group" aria-label="Code in the text"'
    assert focusable_pres(page) == (f'<pre {named}>x</pre><div class="highlight"><pre {named} '
                                    'class="c">y</pre></div><pre tabindex="0">z')


# --- in a browser ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def driver():
    """Chromium for axe; without one (or without axe-core, which is downloaded once), the
    tests are skipped, or fail on CI, where .ci/run installs Chromium."""
    try:
        with axe.browser() as found:
            axe.script()
            yield found
    except (axe.NoBrowser, axe.NoAxe) as exc:
        unavailable(str(exc))


@pytest.fixture(scope="module")
def pages(graded_class, tmp_path_factory) -> dict[str, Path]:
    """kind -> a copy of the page ``feedback`` writes for it (copied at once: other tests of
    the graded class rewrite the course's feedback folder)."""
    root, grades, _ = graded_class
    course = Course(root)
    out = tmp_path_factory.mktemp("pages")
    found = {}
    for kind, student in STUDENTS.items():
        found[kind] = out / f"{student}.html"
        shutil.copyfile(feedback.write_page(course, student), found[kind])
    # the page of a result merged from a shard: its scores, no notebook (merge's page)
    partial = SubmissionResult.from_dict(by_student(grades)["partial"])
    found[MERGED] = out / "merged.html"
    found[MERGED].write_text(feedback.failure_page(course, "partial", None, partial.tests),
                             encoding="utf-8")
    return found


def _no_violation(driver, page: Path, kind: str, best_practice: bool = True) -> None:
    found = (axe.violations(driver, page) if best_practice
             else axe.violations(driver, page, best_practice=()))
    counts = axe.counts(found)
    print(f"{kind}: {counts or 'no violation'}")
    where = [f"{v['id']} ({v['impact']}): {n['target']}: {n['summary']}"
             for v in found for n in v["nodes"][:3]]
    assert counts == {}, "\n".join(where)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_page_passes_wcag_aa_with_headings_in_order_and_landmarks(
        driver, pages, kind):
    _no_violation(driver, pages[kind], kind)


@pytest.mark.slow
@pytest.mark.parametrize("release", [RELEASE, BINARY_RELEASE], ids=lambda p: p.stem)
def test_a_released_notebook_written_as_html_passes_wcag_aa(driver, tmp_path, release):
    """The student's notebook as our exporter writes it (formulas as MathML, the figures'
    alt text, the AA colours), with the course's sanitizers."""
    config = Course(ROOT, None, release.parent.name).nbgrader_config()
    page, _ = FeedbackExporter(config=config).from_notebook_node(
        nbformat.read(release, as_version=4))
    path = tmp_path / f"{release.stem}.html"
    path.write_text(page, encoding="utf-8")
    assert "<math" in page  # the notebooks' formulas, drawn without script
    ids = set(re.findall(r'id="([^"]*)"', page))  # its outline's links land on its headings
    assert [t for t in re.findall(r'href="#([^"]*)"', page) if t not in ids] == []
    _no_violation(driver, path, release.stem, best_practice=False)


@pytest.mark.slow
def test_the_job_summary_as_github_shows_it_passes_wcag_aa(driver, tmp_path):
    """The Actions job summary, rendered as GitHub renders its Markdown, in every state:
    passed, failed, graded by hand, warnings, a notebook that could not run."""
    results = {"test_my_relu": TestResult(10, 10, "passed"),
               "explain": TestResult(0, 5, "", manual=True),
               "test_my_softmax": TestResult(0, 15, "AssertionError: not implemented yet")}
    for name, error in (("summary", None), ("summary-error", "the kernel died")):
        text = summary_markdown(results, "assignments/x/x.ipynb", error=error,
                                notes=["test cell test_my_relu was changed"])
        _no_violation(driver, markdown_page.write(text, tmp_path / f"{name}.html"), name,
                      best_practice=False)


TABBED_JS = """window.__tabbed = [];
document.addEventListener('focusin', e => window.__tabbed.push(e.target));
return document.querySelectorAll('a[href], [tabindex="0"]').length;"""
# Regions that scroll at this width: wider (or taller) than their box, and allowed to scroll.
SCROLLING_JS = """return Array.from(document.querySelectorAll('main *')).filter(e => {
  const s = getComputedStyle(e);
  return (e.scrollWidth > e.clientWidth && /auto|scroll/.test(s.overflowX))
      || (e.scrollHeight > e.clientHeight && /auto|scroll/.test(s.overflowY)); });"""


@pytest.mark.slow
def test_the_keyboard_alone_reaches_the_summary_every_scrolling_region_and_the_model(
        driver, pages):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver.get(pages["partial"].as_uri())
    stops = driver.execute_script(TABBED_JS)
    ActionChains(driver).send_keys(Keys.TAB * (stops + 2)).perform()
    tabbed = driver.execute_script("return window.__tabbed;")
    cell_links = driver.find_elements("css selector", "#summary a[href^='#grade-']")
    scrolling = driver.execute_script(SCROLLING_JS)
    to_model = driver.find_element("css selector", "nav a[href='#model-feedback']")
    assert len(cell_links) == 7 and len(scrolling) >= 3  # a traceback per lost test
    assert [e for e in [*cell_links, *scrolling, to_model] if e not in tabbed] == []
    assert all(e.get_attribute("aria-label") for e in scrolling)
    # the summary first: its links before any cell's code
    assert tabbed.index(cell_links[-1]) < min(tabbed.index(e) for e in scrolling)
    to_model.send_keys(Keys.ENTER)
    assert driver.execute_script("return document.activeElement.id") == "model-feedback"
    # and a test's link takes the focus to the test's cell
    cell_links[2].send_keys(Keys.ENTER)
    assert driver.execute_script("return document.activeElement.id") == (
        "grade-test_softmax_stability")
