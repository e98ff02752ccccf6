"""This assignment's grades written into the file each LMS lets instructors download and
re-import, and nothing else changed in it.

- ``marks.py``: what is returned (:class:`~.marks.Mark`), what came of it
  (:class:`~.marks.Filled`), and the rules the three share: rows matched by the LMS's id of
  the student only, one column chosen or an error that lists them, its points the
  assignment's;
- ``cells.py``: the file read as cells with where each lies, and written again with new
  text spliced into the chosen cells only, every other byte as the LMS wrote it; numbers
  written bare, text never as a formula;
- ``canvas.py``: the gradebook export (CSV), an assignment's column;
- ``moodle.py``: an assignment's offline grading worksheet, its Grade and Feedback comments;
- ``blackboard.py``: the Grade Center's Work Offline download (``.xls`` or ``.csv``), a
  column.

Each module reads its file as that LMS's importer does, and says where that importer's
rules come from. ``SHEETS[lms](data, marks, column=..., assignment=..., graded_at=...)``
gives the new file.
"""

from autograder.grader.returning import blackboard, canvas, moodle

SHEETS = {"canvas": canvas.fill, "moodle": moodle.fill, "blackboard": blackboard.fill}
