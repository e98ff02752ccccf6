"""A thin, safe, fast grading layer over nbgrader for the digit-recognition assignment.

The grading pipeline reads like nbgrader's own: small steps, one module each::

    collect -> sanitize -> sandbox -> execute -> score -> record -> report
"""

import sys as _sys

ASSIGNMENT_ID = "digit_recognition"
NOTEBOOK_ID = "digit_recognition"

# jsonschema (via nbformat) imports rfc3987_syntax when installed, which builds a grammar
# at import time: ~2.3 s in every grading process (python-jsonschema/jsonschema#1428).
# Notebook validation never checks IRIs, so tell jsonschema the package is absent.
_sys.modules.setdefault("rfc3987_syntax", None)
