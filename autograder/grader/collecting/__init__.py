"""``python -m autograder collect``: turn a class's work into one folder per student.

- ``lms.py``: an LMS download (Canvas, Moodle, Blackboard), through nbgrader's zip_collect
  plugins, one file-name pattern per LMS;
- ``git.py``: each student's repository, at the last commit before a deadline.

Both write ``OUT_DIR/<student>/`` and the class record ``collection.json``
(``autograder/grader/collected.py``), which ``grade`` reads.
"""
