"""collect --git ROSTER --deadline D: real repositories made here, with commits before and
after the deadline, an empty one, a missing one; a collected class graded end to end."""

import os
import subprocess
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.grader.collected import read
from autograder.grader.course import Course
from autograder.grader.late import parse_deadline
from autograder.grader.steps.submissions import find as find_submissions
from autograder.records import CommandError

from helpers import (
    ASSIGNMENT_ID,
    NOTEBOOK_NAME,
    TINY_ID,
    TINY_NAME,
    by_student,
    run_grade,
    tiny_submission,
)

DEADLINE = "2026-12-01 23:59 +0100"
NOTEBOOK = f"assignments/digit_recognition/{NOTEBOOK_NAME}"


def git(repo: Path, *args: str, when: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Student", "GIT_AUTHOR_EMAIL": "s@example.org",
           "GIT_COMMITTER_NAME": "Student", "GIT_COMMITTER_EMAIL": "s@example.org"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def make_repo(path: Path, commits: list[tuple[str, str]], notebook: str = NOTEBOOK
              ) -> list[str]:
    """A student repository whose notebook holds each text in turn; the commits' SHAs."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    shas = []
    for when, text in commits:
        (path / notebook).parent.mkdir(parents=True, exist_ok=True)
        (path / notebook).write_text(text)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"work at {when}", when=when)
        shas.append(git(path, "rev-parse", "HEAD"))
    return shas


def roster(tmp_path: Path, rows: dict[str, str]) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("student,repo\n" + "".join(f"{s},{r}\n" for s, r in rows.items()))
    return path


@pytest.fixture
def repos(tmp_path: Path) -> dict:
    alice = make_repo(tmp_path / "repos" / "alice", [
        ("2026-11-30T10:00:00+01:00", "v1"), ("2026-12-01T23:00:00+01:00", "v2"),
        ("2026-12-02T08:00:00+01:00", "v3, late")])
    bob = make_repo(tmp_path / "repos" / "bob", [("2026-12-03T12:00:00+01:00", "too late")])
    (tmp_path / "repos" / "carol").mkdir()
    git(tmp_path / "repos" / "carol", "init", "-q", "--bare")
    return {"alice": alice, "bob": bob}


def test_last_commit_before_the_deadline_is_collected(tmp_path: Path, repos, capsys):
    rows = {"alice": tmp_path / "repos" / "alice",
            "bob": (tmp_path / "repos" / "bob").as_uri(),  # URLs work as paths do
            "carol": tmp_path / "repos" / "carol",
            "dave": tmp_path / "repos" / "nobody-here"}
    out = tmp_path / "class"
    assert main(["collect", "--git", str(roster(tmp_path, rows)), "--deadline", DEADLINE,
                 str(out), "--assignment", ASSIGNMENT_ID]) == 1
    found = read(out)
    assert (out / "alice" / NOTEBOOK).read_text() == "v2"
    assert found["alice"].commit == repos["alice"][1]
    assert found["alice"].submitted_at == "2026-12-01T22:00:00+00:00"
    assert found["alice"].late and found["alice"].problem is None
    assert found["alice"].notes == [f"1 commit(s) after the deadline, not graded (latest "
                                    f"{repos['alice'][2][:12]} at 2026-12-02T07:00:00+00:00)"]
    assert found["bob"].problem == "no commit at or before the deadline 2026-12-01T23:59:00+01:00"
    assert not (out / "bob" / NOTEBOOK).exists()
    assert found["carol"].problem == "the repository has no commits"
    assert found["dave"].problem.startswith("could not fetch the repository")
    assert "collected 1 of 4 students" in capsys.readouterr().out
    subs = {s.student: s for s in find_submissions([out], expected=NOTEBOOK_NAME)}
    assert subs["alice"].error is None and subs["alice"].commit == repos["alice"][1]
    assert subs["dave"].error.startswith("not collected: could not fetch")


def test_each_student_is_collected_at_their_own_deadline(tmp_path: Path, repos):
    """The roster's `extension` moves alice's deadline past her 08:00 commit; bob's own
    `deadline` takes his only commit; both are recorded."""
    path = tmp_path / "roster.csv"
    path.write_text("student,repo,extension,deadline\n"
                    f"alice,{tmp_path / 'repos' / 'alice'},12h,\n"
                    f"bob,{tmp_path / 'repos' / 'bob'},,2026-12-04T00:00+01:00\n")
    out = tmp_path / "class"
    assert main(["collect", "--git", str(path), "--deadline", DEADLINE, str(out),
                 "--assignment", ASSIGNMENT_ID]) == 0
    found = read(out)
    assert (out / "alice" / NOTEBOOK).read_text() == "v3, late"
    assert found["alice"].commit == repos["alice"][2] and not found["alice"].late
    assert found["alice"].deadline == "2026-12-02T11:59:00+01:00"
    assert found["alice"].extension == "12h"  # for grade: nbgrader's extension
    assert (out / "bob" / NOTEBOOK).read_text() == "too late"
    assert found["bob"].deadline == "2026-12-04T00:00:00+01:00"


def test_a_committed_symlink_cannot_point_the_grader_at_a_solution(tmp_path: Path):
    secret = tmp_path / "instructor" / "solution.ipynb"
    secret.parent.mkdir()
    secret.write_text('{"answer": "the instructor\'s solution"}')
    repo = tmp_path / "repos" / "mallory"
    make_repo(repo, [("2026-11-30T10:00:00+01:00", "placeholder")])
    (repo / NOTEBOOK).unlink()
    (repo / NOTEBOOK).symlink_to(secret)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "link", when="2026-11-30T11:00:00+01:00")

    # Without protection: a plain clone keeps the link, and reading the notebook reads the
    # instructor's file.
    plain = tmp_path / "plain" / "mallory"
    subprocess.run(["git", "clone", "-q", str(repo), str(plain)], check=True)
    assert (plain / NOTEBOOK).read_text() == secret.read_text()

    # collect writes the link as a small text file; grade refuses a link in a student folder.
    out = tmp_path / "class"
    main(["collect", "--git", str(roster(tmp_path, {"mallory": repo})), "--deadline",
          DEADLINE, str(out), "--assignment", ASSIGNMENT_ID])
    collected = out / "mallory" / NOTEBOOK
    assert not collected.is_symlink() and collected.read_text() == str(secret)
    [sub] = find_submissions([plain.parent], expected=NOTEBOOK_NAME)
    assert sub.notebook is None and "is a symbolic link" in sub.error


@pytest.mark.parametrize(("text", "message"), [
    ("2026-12-01 23:59", "has no time zone"),
    ("tomorrow", "is not a date"),
])
def test_deadline_needs_a_date_and_a_zone(text, message):
    with pytest.raises(CommandError, match=message):
        parse_deadline(text)
    assert parse_deadline("2026-12-01T23:59+01:00") == parse_deadline(DEADLINE)


@pytest.mark.slow
def test_a_collected_class_grades_end_to_end(tmp_path: Path, tiny_course: Path):
    tiny = f"assignments/{TINY_ID}/{TINY_NAME}"
    right = make_repo(tmp_path / "repos" / "alice", [
        ("2026-11-30T10:00:00+01:00", tiny_submission(None)),
        ("2026-12-01T20:00:00+01:00", tiny_submission()),
        ("2026-12-02T09:00:00+01:00", tiny_submission(None))], tiny)
    make_repo(tmp_path / "repos" / "bob", [("2026-11-29T10:00:00+01:00",
                                            tiny_submission("    return a - b"))], tiny)
    rows = {"alice": tmp_path / "repos" / "alice", "bob": tmp_path / "repos" / "bob",
            "carol": tmp_path / "repos" / "missing"}
    out = tmp_path / "class"
    main(["collect", "--git", str(roster(tmp_path, rows)), "--deadline", DEADLINE, str(out),
          "--course-dir", str(tiny_course)])
    grades, _ = run_grade(tiny_course, out)
    subs = by_student(grades)
    assert (subs["alice"]["score"], subs["alice"]["commit"]) == (5, right[1])
    assert subs["alice"]["submitted_at"] == "2026-12-01T19:00:00+00:00"
    assert subs["bob"]["score"] < 5 and "commit" in subs["bob"]
    assert subs["carol"]["score"] == 0 and "commit" not in subs["carol"]
    assert "submitted_at" not in subs["carol"]
    assert subs["carol"]["error"].startswith("not collected: could not fetch the repository")
    # nbgrader has the submission time, so its late-penalty settings apply
    course = Course(tiny_course)
    with Gradebook(course.db, course.id) as gb:
        stamp = gb.find_submission(course.assignment_id, "alice").timestamp
    assert stamp.isoformat() == "2026-12-01T19:00:00"  # nbgrader keeps naive UTC


def test_a_submit_tag_before_the_deadline_is_graded_over_a_later_branch_commit(tmp_path: Path):
    """Classroom 50 tags each submission `submit/...`: with --ref 'submit/*' the newest such
    tag at or before the deadline is collected (and recorded), not the branch's last commit
    before it; a student without one on time has nothing collected unless --or-branch."""
    base = tmp_path / "repos"
    amy = make_repo(base / "amy", [("2026-11-30T10:00:00+01:00", "submitted v1"),
                                   ("2026-12-01T12:00:00+01:00", "submitted v2"),
                                   ("2026-12-01T20:00:00+01:00", "work in progress"),
                                   ("2026-12-02T09:00:00+01:00", "submitted late")])
    git(base / "amy", "tag", "submit/1", amy[0])
    git(base / "amy", "tag", "-a", "-m", "second", "submit/2", amy[1])  # annotated works too
    git(base / "amy", "tag", "submit/3", amy[3])
    git(base / "amy", "tag", "draft/9", amy[2])  # not matching the pattern
    ben = make_repo(base / "ben", [("2026-11-30T10:00:00+01:00", "never tagged")])
    rows = roster(tmp_path, {"amy": base / "amy", "ben": base / "ben"})

    def collect(out: str, *extra: str) -> dict:
        main(["collect", "--git", str(rows), "--deadline", DEADLINE, str(tmp_path / out),
              "--ref", "submit/*", *extra, "--assignment", ASSIGNMENT_ID])
        return read(tmp_path / out)

    tagged = collect("tagged")
    assert (tmp_path / "tagged" / "amy" / NOTEBOOK).read_text() == "submitted v2"
    assert (tagged["amy"].ref, tagged["amy"].commit) == ("submit/2", amy[1])
    assert tagged["amy"].late and "1 tag(s) submit/* after the deadline" in \
        tagged["amy"].notes[0]
    assert tagged["ben"].problem.startswith("no tag submit/* at or before the deadline")
    assert not (tmp_path / "tagged" / "ben" / NOTEBOOK).exists()

    either = collect("either", "--or-branch")
    assert either["amy"].ref == "submit/2"
    assert (either["ben"].ref, either["ben"].commit) == (None, ben[0])
    assert "the branch was taken" in either["ben"].notes[0]
    assert (tmp_path / "either" / "ben" / NOTEBOOK).read_text() == "never tagged"
    # the branch alone, as before: amy's work in progress, her last commit before it
    plain = tmp_path / "plain"
    main(["collect", "--git", str(rows), "--deadline", DEADLINE, str(plain),
          "--assignment", ASSIGNMENT_ID])
    assert (plain / "amy" / NOTEBOOK).read_text() == "work in progress"
