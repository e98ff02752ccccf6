"""docs/screenshots.py, the script that draws the pictures in docs/, on its cheap part: the
job summary from the reporter's own Markdown to a PNG. (Its student who lost points is
catalogue.partial, graded in test_catalogue.py.)
(The whole script grades a real notebook, about two minutes: it is not run here.)"""

from __future__ import annotations

import importlib.util
import io
import re
import struct

import pytest

from autograder.records import TestResult
from autograder.student import ci

from helpers import ROOT, unavailable

SPEC = importlib.util.spec_from_file_location("screenshots", ROOT / "docs" / "screenshots.py")
screenshots = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(screenshots)

RESULTS = {
    "test_my_relu": TestResult(10, 10, "passed"),
    "test_softmax_stability": TestResult(0, 10, "AssertionError: returned [nan nan] | see "
                                                "<b>here</b> `np.exp`\nsecond line"),
    "test_training_accuracy": TestResult(20, 20, "passed"),
}


def reporter_markdown(tmp_path) -> str:
    """What the workflow's step appends to $GITHUB_STEP_SUMMARY for RESULTS."""
    summary = tmp_path / "summary.md"
    ci.emit(RESULTS, {"GITHUB_STEP_SUMMARY": str(summary)}, io.StringIO(),
            notebook="assignments/digit_recognition/digit_recognition.ipynb",
            notes=["test cell test_my_relu was changed"])
    return summary.read_text(encoding="utf-8")


def test_the_summary_renders_as_a_github_table(tmp_path):
    page = screenshots.summary_html(reporter_markdown(tmp_path))
    assert "<h2>Autograding: 30/40 points</h2>" in page
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    assert len(rows) == 1 + len(RESULTS)  # header and one row per test: no cell broke it
    assert all(len(re.findall(r"<t[hd]", row)) == 4 for row in rows)
    assert "<b>" not in page and "&lt;b&gt;here&lt;/b&gt;" in page  # student text stays text
    assert "❌ fail" in page and page.count("✅ pass") == 2
    assert "<blockquote>" in page and "test cell test_my_relu was changed" in page


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_the_job_summary_becomes_a_png(tmp_path):
    from formgrader_driver import NoBrowser, chromium

    try:
        with chromium(tmp_path / "profile", screenshots.WIDTH, 600) as driver:
            png = screenshots.job_summary_png(reporter_markdown(tmp_path), tmp_path,
                                              tmp_path / "job-summary.png", driver)
    except NoBrowser as exc:
        unavailable(str(exc))
    data = png.read_bytes()
    width, height = _png_size(data)
    assert width == screenshots.WIDTH
    assert 250 < height < 600  # the box and its table, not the whole window
    assert len(data) > 20_000
