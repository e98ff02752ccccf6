"""Grading without secrets, for platforms that publish their autograder (Classroom 50).

- ``grade``: a student's notebook with the released (public) tests, run on a clean copy of
  the release with only the student's answer cells taken over, then the model tests decided
  again outside the kernel (``autograder.model.checks``).
- ``classroom50``: Classroom 50's entry point: ``result.json`` and ``release-body.md``.

It stands on the student kit, ``autograder.model``, ``spec`` and ``records``; never on the
grader, the solutions or the hidden tests (``make lint`` checks it), so the bundle that
ships it can be public.
"""
