"""``python -m autograder collect``: turn a class's work into one folder per student.

- ``lms.py``: an LMS download (Canvas, Moodle, Blackboard): names read by nbgrader's
  FileNameCollectorPlugin, one pattern per LMS; students' archives opened one level deep,
  within bounds;
- ``git.py``: each student's repository, at the last commit before a deadline.

Both write ``OUT_DIR/<student>/`` and the class record ``collection.json``
(``autograder/grader/collected.py``), which ``grade`` reads.
"""
