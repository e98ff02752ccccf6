"""Collect each student's repository at a deadline (``collect --git ROSTER --deadline D``).

For every roster row with a ``repo`` (a URL or a local path): fetch it, take the last commit
of its default branch (first parents) made at or before the deadline, and write that
commit's files into ``OUT_DIR/<student>/``. Commits after the deadline are reported, not
graded. With ``--ref PATTERN`` (Classroom 50 tags each submission ``submit/...``), the
newest tag matching the pattern whose commit is at or before the deadline is taken instead,
and recorded; without one the branch is taken only with ``--or-branch``. Times are
committer times, which the student's clock sets: collecting at the deadline (a scheduled
run) is what makes "pushed before the deadline" certain.

Files are written with ``core.symlinks=false``: a committed symbolic link becomes a small
text file, so it cannot point the grader at a file of the instructor's (a solution).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from autograder.grader import late
from autograder.grader.collected import FILE, Collected, Collection, new_class_dir, with_person
from autograder.grader.roster import Student
from autograder.grader.steps import report

# No prompt for a password, no hooks or filters from anyone's config: collection must not
# hang on a private repository or run anything.
GIT = ("git", "-c", "core.symlinks=false", "-c", "core.hooksPath=/dev/null",
       "-c", "credential.interactive=never")
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "true"}
FETCH_TIMEOUT = 300


def _git(*args: str, cwd: Path | None = None, timeout: int = 60) -> str:
    run = subprocess.run([*GIT, *args], cwd=cwd, capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, **GIT_ENV})
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["git failed"])[-1]
        raise RuntimeError(last.removeprefix("fatal: "))
    return run.stdout


def history(repo: Path) -> list[tuple[str, int]]:
    """(sha, committer time) of the default branch's first-parent line, newest first."""
    out = _git("log", "--first-parent", "--format=%H %ct", "HEAD", cwd=repo)
    return [(sha, int(ct)) for sha, ct in (line.split() for line in out.splitlines())]


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def tagged(repo: Path, pattern: str) -> list[tuple[str, str, int]]:
    """(tag, commit sha, committer time) of each tag matching ``pattern``, newest first."""
    names = _git("for-each-ref", "--format=%(refname:strip=2)", f"refs/tags/{pattern}",
                 cwd=repo).split()
    found = []
    for name in names:
        sha, ct = _git("log", "-1", "--format=%H %ct", f"refs/tags/{name}^{{commit}}",
                       cwd=repo).split()
        found.append((name, sha, int(ct)))
    return sorted(found, key=lambda t: (t[2], t[0]), reverse=True)


def _checkout(clone: Path, folder: Path, sha: str) -> None:
    _git(f"--git-dir={clone}", f"--work-tree={folder}", "-c", "core.bare=false", "checkout",
         "--quiet", sha, "--", ".")


def collect_tag(entry: Student, clone: Path, folder: Path, cutoff: float, pattern: str
                ) -> Collected | None:
    """The newest tag matching ``pattern`` at or before ``cutoff``; None when there is none."""
    tags = tagged(clone, pattern)
    on_time = [t for t in tags if t[2] <= cutoff]
    notes = [f"{len(tags) - len(on_time)} tag(s) {pattern} after the deadline, not graded "
             f"(latest {tags[0][0]})"] if len(on_time) < len(tags) else []
    if not on_time:
        return None
    name, sha, ct = on_time[0]
    _checkout(clone, folder, sha)
    return Collected(entry.student, entry.repo, submitted_at=_when(ct), commit=sha,
                     late=bool(notes), notes=notes, ref=name, time_source="git committer time")


def collect_one(entry: Student, deadline: datetime, out_dir: Path, work: Path,
                ref: str | None = None, or_branch: bool = False) -> Collected:
    """One student's repository at the deadline; a problem is this student's, not the class's.
    ``ref``: a tag pattern to take before the branch; ``or_branch``: the branch when no such
    tag is on time."""
    folder = out_dir / entry.student
    folder.mkdir()
    clone = work / f"{entry.student}.git"
    try:
        _git("clone", "--quiet", "--bare", "--", entry.repo, str(clone), timeout=FETCH_TIMEOUT)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return Collected(entry.student, entry.repo,
                         problem=f"could not fetch the repository {entry.repo}: {exc}")
    try:
        commits = history(clone)
    except RuntimeError:
        commits = []
    if not commits:
        return Collected(entry.student, entry.repo, problem="the repository has no commits")
    cutoff = deadline.timestamp()
    fallback = []
    if ref:
        if (by_tag := collect_tag(entry, clone, folder, cutoff, ref)) is not None:
            return by_tag
        if not or_branch:
            return Collected(entry.student, entry.repo, late=bool(tagged(clone, ref)),
                             problem=f"no tag {ref} at or before the deadline "
                                     f"{deadline.isoformat()}")
        fallback = [f"no tag {ref} at or before the deadline: the branch was taken"]
    on_time = [(sha, ct) for sha, ct in commits if ct <= cutoff]
    late = [(sha, ct) for sha, ct in commits if ct > cutoff]
    notes = fallback
    if late:
        notes.append(f"{len(late)} commit(s) after the deadline, not graded (latest "
                     f"{late[0][0][:12]} at {_when(late[0][1])})")
    if not on_time:
        return Collected(entry.student, entry.repo, late=True, notes=notes,
                         problem=f"no commit at or before the deadline {deadline.isoformat()}")
    sha, ct = on_time[0]
    _checkout(clone, folder, sha)
    return Collected(entry.student, entry.repo, submitted_at=_when(ct), commit=sha,
                     late=bool(late), notes=notes, time_source="git committer time")


def own_deadline(entry: Student, deadline: datetime) -> datetime:
    """The student's deadline: the roster's ``deadline``, else the class's plus their
    ``extension``, else the class's (the roster checked both when it was read)."""
    if entry.deadline:
        return late.parse_deadline(entry.deadline)
    if entry.extension:
        return deadline + late.parse_extension(entry.extension)
    return deadline


def _one(entry: Student, deadline: datetime, out_dir: Path, work: Path, ref: str | None,
         or_branch: bool) -> Collected:
    own = own_deadline(entry, deadline)
    found = with_person(collect_one(entry, own, out_dir, work, ref, or_branch), entry)
    if own != deadline:
        found.deadline = own.isoformat()
    return found


def collect(roster: list[Student], deadline: datetime, out_dir: Path, source: str,
            jobs: int = 8, ref: str | None = None, or_branch: bool = False) -> Collection:
    """Every roster row's repository at its student's deadline, fetched ``jobs`` at a time."""
    new_class_dir(out_dir)
    with tempfile.TemporaryDirectory(prefix="collect-git-") as tmp, \
            ThreadPoolExecutor(max_workers=jobs) as pool:
        students = list(pool.map(
            lambda e: _one(e, deadline, out_dir, Path(tmp), ref, or_branch), roster))
    collection = Collection("git", source, students, deadline=deadline.isoformat())
    report.write_document(out_dir / FILE, collection.as_dict())
    return collection
