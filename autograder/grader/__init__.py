"""The instructor's grader: everything that needs the solutions, the hidden tests or the
gradebook. Students never receive this package.

- ``verbs``: the instructor's command-line verbs (``grade``, ``feedback``, ``export``, ...).
- ``pipeline`` and ``steps/``: grading, one small step per module, in the order that
  ``pipeline.STEPS`` declares.
- ``sandbox/``: the throw-away folder, limits and Linux namespaces student code runs in.
- ``gradebook``: every write to nbgrader's gradebook.
- ``course``, ``feedback``, ``grades_csv``, ``merge``, ``template``,
  ``reference``: one job each.
"""
