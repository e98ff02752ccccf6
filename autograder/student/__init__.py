"""The student kit: what runs on a student's machine or in a student's CI.

The self-check (``python -m autograder check``), the GitHub Actions reporter
(``python -m autograder.student.ci``), the tamper manifest, the in-kernel export cell and the
one notebook runner that grading uses too. It imports the standard library, nbformat,
nbclient/jupyter and ``autograder.spec``/``autograder.records`` only — never nbgrader, the
gradebook or the sandbox (``make lint`` enforces this with import-linter) — so the template
export and the platform bundles ship this folder whole.
"""
