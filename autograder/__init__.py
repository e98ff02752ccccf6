"""A thin, safe, fast grading layer over nbgrader, for any of a course's assignments.

The engine names no assignment: each one declares how it is graded in its own
``solutions/<id>/grading.py`` (an ``autograder.assignment.Assignment``), loaded by path.
Two packages and what they share (docs/architecture.md draws it; ``make lint`` checks it):

- ``autograder.assignment``, ``autograder.records``: what the engine knows of an assignment
  and the result records; standard library only.
- ``autograder.student``: the student kit (self-check, CI reporter, tamper manifest, the one
  notebook runner); ships to students whole.
- ``autograder.grader``: the instructor's grader — the pipeline's ``steps``, the ``sandbox``,
  the gradebook, feedback, exports.
"""

import sys as _sys

# jsonschema (via nbformat) imports rfc3987_syntax when installed, which builds a grammar
# at import time, in every grading process (python-jsonschema/jsonschema#1428; its cost:
# bench/README.md, "Measurements behind the code").
# Notebook validation never checks IRIs, so tell jsonschema the package is absent.
_sys.modules.setdefault("rfc3987_syntax", None)
