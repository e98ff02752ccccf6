"""The solution as a student who solved it hands it in (make demo's `solution`): the answers
kept, no hidden test, test cells equal to the release's, so no changed cell is reported."""

from __future__ import annotations

import nbformat
import pytest

from autograder.grader import handed_in
from autograder.student.manifest import find_tampering, tamper_manifest

from helpers import BINARY_RELEASE, BINARY_SOLUTION, RELEASE, SOLUTION


@pytest.mark.parametrize(("source", "release"), [(SOLUTION, RELEASE),
                                                 (BINARY_SOLUTION, BINARY_RELEASE)],
                         ids=["digit_recognition", "digit_recognition_binary"])
def test_the_solution_handed_in_has_no_hidden_test_and_changes_no_test_cell(
        tmp_path, source, release):
    out = tmp_path / source.name
    assert handed_in.main([str(source), str(out)]) == 0
    manifest = tamper_manifest(release, None)
    assert find_tampering(source, None, manifest)  # the source's test cells hold more
    assert find_tampering(out, None, manifest) == []
    text = out.read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" not in text and "### BEGIN SOLUTION" in text
    src, got = (nbformat.read(p, as_version=4) for p in (source, out))
    assert len(src.cells) == len(got.cells)


def test_usage_is_said(capsys):
    assert handed_in.main(["only-one"]) == 2
    assert "usage:" in capsys.readouterr().err
