"""nbgrader configuration for the instructor repository.

The source step is ``solutions/`` (notebooks with solution markers and hidden tests)
and the release step is ``assignments/`` (what students get), so
``nbgrader generate_assignment digit_recognition`` run from this folder
rewrites ``assignments/digit_recognition/`` from ``solutions/digit_recognition/``.
"""

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

# nbgrader runs `alembic` by name when it creates or upgrades a gradebook: the folder of the
# Python running nbgrader (the venv's bin/) goes on PATH, so that `.venv/bin/nbgrader db ...`
# works from a venv that is not activated.
import os  # noqa: E402
import sys  # noqa: E402

_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_bin, os.environ.get("PATH", "")])

c.CourseDirectory.course_id = "digit-recognition"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
# Only the notebook is released; the reference model and metrics, and grading.py (its
# function probes hold the hidden tests' inputs), stay private. An assignment's student
# README reaches students through the template (Assignment.student_files), not the release.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.keras", "*.json", "grading.py",
    "README.md",
]

# A release (and the grader's gradebook set-up) is refused while an autograded test has no
# outside-the-kernel check in grading.py, nor a KernelOnly reason; the released notebook's
# metadata gets the assignment's public facts (autograder/grader/release_check.py).
from nbgrader.converters import GenerateAssignment  # noqa: E402

from autograder.grader.release_check import CheckedRelease  # noqa: E402

c.GenerateAssignment.preprocessors = [
    CheckedRelease, *GenerateAssignment.class_traits()["preprocessors"].default()]
# Restore grade cells a student deleted instead of leaving them ungraded forever.
c.OverwriteCells.add_missing_cells = True
c.ClearSolutions.code_stub = {
    "python": 'raise NotImplementedError("not implemented yet: write your code here")',
}

# nbgrader's feedback shows hidden tests (jupyter/nbgrader#917). Strip them first, so that
# `nbgrader generate_feedback` and formgrader's "Generate Feedback" button are as safe as
# `python -m autograder feedback`. The preprocessor needs this course's package installed
# (pip install -e ".[grader]"), which the instructor's environment has.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from autograder.grader.hide_hidden import HideHiddenTests  # noqa: E402

c.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
# The feedback pages in our template (WCAG 2.1 AA: landmarks, headings in order, colours at
# 4.5:1, scrolling regions reachable by keyboard; autograder/grader/feedback_exporter.py), for
# `nbgrader generate_feedback` and formgrader's button as for `python -m autograder feedback`.
c.GenerateFeedback.exporter_class = "autograder.grader.feedback_exporter.FeedbackExporter"
# formgrader's review page keeps nbgrader's own template (its scripts need it): there, code in
# the same AA colours. (Its "¶" heading links stay: without them nbconvert gives headings no
# id, and a notebook's links to its own sections would go nowhere.)
c.CSSHTMLHeaderPreprocessor.style = "a11y-light"

# nbgrader autograde (and formgrader's Autograde button, which runs it) would execute each
# student's notebook in nbgrader's own process: as the instructor, in this folder, beside the
# gradebook and solutions. Here it hands the submission to `python -m autograder grade` instead
# (sandboxed, checked outside the kernel, recorded as the CLI records it; see
# autograder/grader/nbgrader_autograde.py and docs/formgrader.md).
# AUTOGRADER_PLAIN_NBGRADER=1 keeps nbgrader's own execution, for the tests and benchmark that
# measure plain nbgrader; never set it to grade students.
from autograder.grader.nbgrader_autograde import SandboxedAutograde, plain_nbgrader  # noqa: E402

if not plain_nbgrader():
    c.Autograde.autograde_preprocessors = [SandboxedAutograde]

# formgrader's review page and nbgrader's feedback pages show a student's markdown cells and
# outputs: a script there would run in the instructor's Jupyter session (which can open a
# terminal). nbconvert's SanitizeHTML escapes their markup and drops JavaScript outputs first
# (the notebook's own text keeps <kbd>); SanitizeOutputMetadata keeps only well-formed image
# sizes (nbconvert prints them unquoted); SafeMarkdown drops javascript: and other links out
# of the web, and images that would be fetched, from rendered markdown (autograder/grader/
# page_safety.py; `python -m autograder feedback` adds them if this file lacks them).
import bleach  # noqa: E402

from autograder.grader.page_safety import protect  # noqa: E402

protect(c)  # SanitizeHTML, SanitizeOutputMetadata and SafeMarkdown, the one list of them
c.SanitizeHTML.tags = [*bleach.ALLOWED_TAGS, "kbd"]

# nbgrader's CSV exporter joins fields with commas and quotes nothing: a name with a comma
# moves the score column, and one starting with "=" is a live spreadsheet formula. The
# course's exporter writes nbgrader's columns as RFC 4180 CSV, text quoted and formula-leading
# text prefixed with ' (autograder/grader/grades_csv.py); `nbgrader export` uses it too.
c.ExportApp.plugin_class = "autograder.grader.grades_csv.SafeCsvExportPlugin"

# The late policy (nbgrader's AssignLatePenalties, when a due date is set with `nbgrader db
# assignment add ID --duedate=...`): nbgrader's own penalty_method "none" (default) or
# "zero", or a percent of the score per started hour or day late, with a cap
# (autograder/grader/late.py). Each student's own deadline or extension comes from the
# roster (docs/returning.md). For example:
#   c.AssignLatePenalties.plugin_class = "autograder.grader.late.PercentLatePenalty"
#   c.PercentLatePenalty.percent = 10
#   c.PercentLatePenalty.period = "day"
#   c.PercentLatePenalty.cap = 50
