"""A delimited-text file changed in some cells and in no other byte, and what we write there.

An LMS re-imports the file it wrote; everything we did not mean to change must reach it as
the LMS wrote it. Parsing and writing again (``csv.writer``) would not: it re-quotes every
cell its own way, turns line endings into one kind and drops a byte order mark. So
:meth:`Sheet.read` keeps the text as it was and records where each cell lies in it, and
:meth:`Sheet.write` splices new text into the chosen cells only:

- the encoding stays: UTF-8 with or without its byte order mark, UTF-16 with its own (which
  Blackboard's ``.xls`` download is), byte for byte (a strict decode and encode of the same
  codec give back the same bytes);
- cells are RFC 4180's, with the sheet's delimiter: a cell that starts with ``"`` ends at
  the next ``"`` not doubled, and may hold delimiters, quotes and line breaks; rows end at
  CRLF, LF or CR outside quotes, each row keeping its own; a last row may have no line end;
- a cell written is quoted when its text needs it (delimiter, quote, CR or LF), or when the
  LMS had quoted the cell (Blackboard quotes every cell and may expect to).

A file this cannot read unambiguously (a quoted cell never closed, text after a closing
quote, bytes that are not UTF-8 or UTF-16) is an error, not a guess: we do not write into a
file whose cells we cannot tell apart.

What goes into a cell is never a formula (``grades_csv``'s OWASP rule, reused by
:func:`text`): :func:`number` writes a bare non-negative number, at most two decimals, with
``.`` as its point; text that could start a formula gets a leading ``'``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from autograder.grader.grades_csv import cell as safe_cell
from autograder.records import CommandError

BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# a quoted cell: possessive, so a quote never closed fails at once instead of backtracking
QUOTED = re.compile(r'"((?:[^"]++|"")*+)"')


@dataclass(frozen=True)
class Cell:
    start: int      # where the cell's text starts in the sheet (its opening quote if quoted)
    end: int        # where it ends (after its closing quote)
    value: str      # the text it holds, unquoted
    quoted: bool


@dataclass
class Sheet:
    bom: bytes
    codec: str
    text: str           # the file after its byte order mark
    delimiter: str
    rows: list[list[Cell]]

    @classmethod
    def read(cls, data: bytes, delimiter: str) -> Sheet:
        bom, codec, text = decode(data)
        return cls(bom, codec, text, delimiter, tokenize(text, delimiter))

    def raw(self, row: int) -> str:
        """A row's text as the file has it, without its line end."""
        cells = self.rows[row]
        return self.text[cells[0].start:cells[-1].end]

    def write(self, values: dict[tuple[int, int], str]) -> bytes:
        """The file with the cells at (row, column) holding the new values, all else as read."""
        edits = sorted(((self.rows[r][c], v) for (r, c), v in values.items()),
                       key=lambda edit: edit[0].start)
        out, at = [], 0
        for old, value in edits:
            out += [self.text[at:old.start], render(value, self.delimiter, old.quoted)]
            at = old.end
        out.append(self.text[at:])
        return self.bom + "".join(out).encode(self.codec)


def decode(data: bytes) -> tuple[bytes, str, str]:
    """The byte order mark, the codec and the text of a file: UTF-8 or UTF-16 by its mark,
    UTF-8 without one."""
    bom, codec = next(((b, c) for b, c in BOMS if data.startswith(b)), (b"", "utf-8"))
    try:
        return bom, codec, data[len(bom):].decode(codec)
    except UnicodeDecodeError as e:
        raise CommandError(f"the file is not {codec.upper()} text (byte {e.start + len(bom)}):"
                           " download it again from the LMS, without opening it in between"
                           ) from None


def tokenize(text: str, delimiter: str) -> list[list[Cell]]:
    """Every row's cells, with where each lies in ``text``. An empty line is a row of one
    empty cell; a line end at the very end starts no row."""
    plain = re.compile(f"[^{re.escape(delimiter)}\r\n]*")
    rows: list[list[Cell]] = []
    row: list[Cell] = []
    at, size = 0, len(text)
    if not size:
        return rows
    while True:
        if text.startswith('"', at):
            match = QUOTED.match(text, at)
            if not match:
                raise CommandError(f"line {_line(text, at)}: a quoted cell is never closed")
            cell = Cell(at, match.end(), match.group(1).replace('""', '"'), True)
            if cell.end < size and text[cell.end] not in (delimiter, "\r", "\n"):
                raise CommandError(f"line {_line(text, cell.end)}: text after the closing "
                                   "quote of a cell")
        else:
            match = plain.match(text, at)
            cell = Cell(at, match.end(), match.group(), False)
        row.append(cell)
        at = cell.end
        if at == size:
            rows.append(row)
            break
        if text[at] == delimiter:
            at += 1
            continue
        rows.append(row)
        row = []
        at += 2 if text.startswith("\r\n", at) else 1
        if at == size:
            break
    return rows


def _line(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def render(value: str, delimiter: str, quoted: bool) -> str:
    """A cell's text as the file holds it: quoted when it must be, or was."""
    if quoted or any(c in value for c in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def number(value: float, decimals: int = 0) -> str:
    """A score as a bare number: never negative, rounded half up to two decimals, ``.`` as
    its point, no trailing zeros beyond ``decimals`` places (``8``, ``8.5``; ``8.50`` with
    2). More than two decimals only pad: a grade is never given to more than two."""
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{value} is not a score")
    exact = Decimal(repr(abs(value)))  # abs: -0.0 is 0
    rounded = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    places = max(decimals, -rounded.as_tuple().exponent, 0)
    return f"{rounded:.{places}f}"


def text(value: str) -> str:
    """Text that no spreadsheet reads as a formula (``grades_csv.cell``, OWASP's rule)."""
    return str(safe_cell(str(value)))
