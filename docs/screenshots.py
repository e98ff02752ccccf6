"""The pictures in docs/, made from real runs: what a student and an instructor each get.

    .venv/bin/python docs/screenshots.py [--out docs/] [--course build/demo]

writes four PNGs into --out:

- ``feedback.png`` and ``feedback-model.png``: the first and the last section of the page
  ``python -m autograder feedback`` writes for a student who lost points (the summary
  table; the loss curve, misclassified digits and confusion matrix);
- ``job-summary.png``: the job summary the student's workflow writes to
  ``$GITHUB_STEP_SUMMARY`` for that notebook, rendered as GitHub renders Markdown (tables,
  inline HTML) with GitHub-like styles;
- ``formgrader.png``: formgrader's Manage Submissions page on the graded course.

The student is ``partial`` from tests/catalogue.py (also in the graded class the tests
check): the solution's ``my_relu``, a naive softmax, a softmax output layer and a loss
without ``from_logits`` (three tests lost). Their notebook
is graded for real (``grade``), while the workflow's own command
(``python -m autograder.student.ci``) runs it with the public tests in a copy of a student
repository. The course starts as a copy of --course (default: ``build/demo``, which
``make demo`` grades), so formgrader also lists make demo's students; they are graded again
when that course is missing, older than the assignment or than ``submitted/``. Everything
is built in --work (default ``build/screenshots/``, deleted first), never in --course.
Two to four minutes on two cores. Needs the grader extra, selenium, Chromium and
chromedriver (see tests/README.md), and an emoji font for the summary's ✅ and ❌.
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the Jupyter server and browser that tests use

from catalogue import partial  # noqa: E402  (the graded class's student who loses three tests)
from formgrader_driver import chromium, jupyter_server, log_in, submissions_page  # noqa: E402

ASSIGNMENT = "digit_recognition"
NOTEBOOK_NAME = f"{ASSIGNMENT}.ipynb"
RELEASE_NOTEBOOK = f"assignments/{ASSIGNMENT}/{NOTEBOOK_NAME}"
SOURCE_NOTEBOOK = f"solutions/{ASSIGNMENT}/{NOTEBOOK_NAME}"
STUDENT = "partial"
WORKFLOW = ROOT / "template" / ".github" / "workflows" / "classroom.yml"
IN_REPO = Path(RELEASE_NOTEBOOK)  # where a student's repository keeps the notebook
ROSTER = ("student,first_name,last_name,email\n"
          "solution,Ada,Lovelace,ada@example.org\n"
          "untouched_release,Alan,Turing,\n"
          f"{STUDENT},Grace,Hopper,grace@example.org\n")
WIDTH = 1200

# --- the student who lost points ----------------------------------------------------------

# --- the job summary, rendered as GitHub renders it -----------------------------------------

SUMMARY_CSS = """
body { margin: 0; padding: 16px; background: #f6f8fa; color: #1f2328;
       font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
.box { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
.box > header { padding: 12px 16px; border-bottom: 1px solid #d0d7de; font-weight: 600; }
.markdown-body { padding: 8px 24px 16px; }
h2 { font-size: 1.5em; font-weight: 600; padding-bottom: .3em;
     border-bottom: 1px solid #d8dee4; margin: 16px 0; }
p, blockquote, table { margin: 0 0 16px; }
blockquote { padding: 0 1em; color: #59636e; border-left: .25em solid #d0d7de; }
table { border-collapse: collapse; display: block; width: max-content; max-width: 100%;
        overflow: auto; }
th, td { padding: 6px 13px; border: 1px solid #d0d7de; }
th { font-weight: 600; text-align: left; }
tr:nth-child(2n) { background: #f6f8fa; }
code { padding: .2em .4em; font-size: 85%; background: rgba(175, 184, 194, .2);
       border-radius: 6px; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
"""


def summary_html(markdown: str, title: str = "run-autograding-tests summary") -> str:
    """The Markdown as GitHub shows a job summary: CommonMark with GFM's tables and
    strikethrough, inline HTML kept (GitHub keeps <br>), in a box like the run page's."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(
        markdown)
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{SUMMARY_CSS}</style></head><body>"
            f'<div class="box"><header>{html.escape(title)}</header>'
            f'<div class="markdown-body">{body}</div></div></body></html>\n')


# --- pictures -------------------------------------------------------------------------------

def clip(driver, png: Path, top: float = 0, bottom: float | None = None) -> Path:
    """The page from `top` to `bottom` (default: its end) at the window's width."""
    import base64

    width, height = driver.execute_script(
        "const e = document.documentElement;"
        "return [e.clientWidth, Math.max(e.scrollHeight, document.body.scrollHeight)];")
    bottom = height if bottom is None else min(bottom, height)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": top, "width": width, "height": bottom - top, "scale": 1}})
    png.parent.mkdir(parents=True, exist_ok=True)
    png.write_bytes(base64.b64decode(shot["data"]))
    return png


def box(driver, css: str) -> tuple[float, float]:
    """(top, bottom) of the first element matching `css`, in page coordinates."""
    return tuple(driver.execute_script(
        "const b = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return [b.top + window.scrollY, b.bottom + window.scrollY];", css))


def job_summary_png(markdown: str, work: Path, png: Path, driver) -> Path:
    page = work / "job-summary.html"
    page.write_text(summary_html(markdown), encoding="utf-8")
    driver.get(page.as_uri())
    return clip(driver, png, 0, box(driver, ".box")[1] + 16)


def feedback_pngs(page: Path, top_png: Path, end_png: Path, driver) -> list[Path]:
    """The page's first section (the summary table) and its last (the trained model)."""
    from autograder.grader.feedback import SECTION_ID, SUMMARY_ID

    driver.get(page.as_uri())
    model_top, model_bottom = box(driver, f"#{SECTION_ID}")
    return [clip(driver, top_png, 0, box(driver, f"#{SUMMARY_ID}")[1]),
            clip(driver, end_png, model_top - 16, model_bottom + 16)]


def formgrader_png(course: Path, work: Path, png: Path, driver, students: set[str]) -> Path:
    db = f"sqlite:///{course / 'gradebook.db'}"
    args = [f"--CourseDirectory.db_url={db}"] + [
        f"--CourseDirectory.{kind}_directory={course / kind}"
        for kind in ("submitted", "autograded", "feedback")]
    with jupyter_server(ROOT, work / "jupyter", args) as (url, token):
        log_in(driver, url, token)
        submissions_page(driver, url, ASSIGNMENT, students)
        time.sleep(0.5)  # the table's fade-in
        return clip(driver, png, 0, box(driver, "#main-table")[1] + 24)


# --- the runs -------------------------------------------------------------------------------

def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("$", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, text=True, **kw)


def build_course(source: Path, work: Path) -> tuple[Path, Path, bool]:
    """work/course (a copy of `source`, if graded) and work/class (its students and
    STUDENT). Returns (course, class folder, whether to regrade everyone)."""
    from autograder.grader.course import Course
    from autograder.grader.gradebook import assignment_fingerprint, gradebook_fingerprint

    course, klass = work / "course", work / "class"
    if (source / "gradebook.db").is_file():
        shutil.copytree(source, course, symlinks=True)
        graded = Course(ROOT, f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT)
        if gradebook_fingerprint(graded) not in (None, assignment_fingerprint(graded)):
            print(f"{source} was graded with another version of the assignment: grading "
                  "its students again", flush=True)
            shutil.rmtree(course)
    course.mkdir(parents=True, exist_ok=True)
    if (source / "submissions").is_dir():
        shutil.copytree(source / "submissions", klass, symlinks=True)
    else:
        for student, notebook in (("solution", SOURCE_NOTEBOOK),
                                  ("untouched_release", RELEASE_NOTEBOOK)):
            (klass / student).mkdir(parents=True)
            shutil.copy(ROOT / notebook, klass / student / NOTEBOOK_NAME)
    (klass / STUDENT).mkdir(parents=True, exist_ok=True)
    (klass / STUDENT / NOTEBOOK_NAME).write_text(partial(), encoding="utf-8")
    # a course graded before grade kept submitted/ shows no submissions in formgrader
    stale = any(not (course / "submitted" / d.name / ASSIGNMENT / NOTEBOOK_NAME).is_file()
                for d in (course / "autograded").glob("*") if d.is_dir())
    return course, klass, stale


def student_repository(work: Path) -> Path:
    """A student's repository as the template makes it, holding STUDENT's notebook."""
    from autograder.student.manifest import manifest_text, tamper_manifest

    repo = work / "student-repo"
    (repo / IN_REPO).parent.mkdir(parents=True)
    (repo / IN_REPO).write_text(partial(), encoding="utf-8")
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(WORKFLOW, workflows / WORKFLOW.name)
    (repo / ".github" / "classroom" / "manifest.json").parent.mkdir()
    (repo / ".github" / "classroom" / "manifest.json").write_text(
        manifest_text(tamper_manifest(ROOT / RELEASE_NOTEBOOK, workflows / WORKFLOW.name)))
    return repo


def _has_emoji_font() -> bool:
    try:
        fonts = subprocess.run(["fc-list"], capture_output=True, text=True).stdout
    except OSError:
        return True  # cannot tell
    return "emoji" in fonts.lower()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs", help="default: %(default)s")
    p.add_argument("--course", type=Path, default=ROOT / "build" / "demo",
                   help="a course graded with --db sqlite:///DIR/gradebook.db, as make demo "
                        "leaves it (copied, never changed; default: %(default)s)")
    p.add_argument("--work", type=Path, default=ROOT / "build" / "screenshots",
                   help="scratch folder, deleted first (default: %(default)s)")
    args = p.parse_args(argv)
    started = time.monotonic()
    if not _has_emoji_font():
        print("warning: no emoji font (fc-list), so the job summary's ✅ and ❌ show as "
              "boxes: apt-get install fonts-noto-color-emoji", file=sys.stderr)
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    course, klass, stale = build_course(args.course.resolve(), work)
    (work / "roster.csv").write_text(ROSTER)
    py, db = sys.executable, f"sqlite:///{course / 'gradebook.db'}"

    # The student's workflow step, in their repository, while the instructor grades.
    repo = student_repository(work)
    summary = work / "step-summary.md"
    with (work / "ci.log").open("w") as ci_log:
        ci = subprocess.Popen(
            [py, "-m", "autograder.student.ci", str(IN_REPO), "--manifest",
             ".github/classroom/manifest.json", "--workflow", ".github/workflows/classroom.yml"],
            cwd=repo, stdout=ci_log, stderr=subprocess.STDOUT,
            env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary),
                 "GITHUB_OUTPUT": str(work / "step-output"), "GITHUB_ACTIONS": "true"})
        grade = _run([py, "-m", "autograder", "grade", str(klass), "--assignment", ASSIGNMENT,
                      "--db", db, "--roster",
                      str(work / "roster.csv"), "--json", str(work / "grades.json"), "--quiet",
                      *(["--force"] if stale else [])], cwd=ROOT)
        feedback = _run([py, "-m", "autograder", "feedback", "--assignment", ASSIGNMENT,
                         "--db", db, "--student", STUDENT], cwd=ROOT)
        ci.wait()
    if grade.returncode or feedback.returncode or not summary.is_file():
        print(f"failed: grade {grade.returncode}, feedback {feedback.returncode}, ci "
              f"{ci.returncode} (log: {work / 'ci.log'})", file=sys.stderr)
        return 1

    out = args.out.resolve()
    students = {d.name for folder in (klass, course / "autograded") for d in folder.iterdir()
                if d.is_dir()}
    with chromium(work / "chromium-profile", WIDTH, 900) as driver:
        written = [
            *feedback_pngs(course / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html",
                           out / "feedback.png", out / "feedback-model.png", driver),
            job_summary_png(summary.read_text(encoding="utf-8"), work,
                            out / "job-summary.png", driver),
            formgrader_png(course, work, out / "formgrader.png", driver, students)]
    for png in written:
        print(f"wrote {png}")
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
