"""Reading and writing files where untrusted code could have been first.

Student code owns its sandbox folder, and a student's repository or upload is theirs too: any
name in them may be a symbolic link (to a solution, to the grader's own kept copies, or
through ``/proc/self``, which names another process inside and outside a jail), a FIFO that
blocks whoever opens it, a hard link to a file of someone else's, or huge. The rules here:

- a file is opened relative to a folder's descriptor, one path component at a time, and no
  component is followed if it is a link (``O_NOFOLLOW`` at each one, ``O_DIRECTORY`` on the
  folders); the file must be a regular file with no other name (one hard link), and at most
  ``limit`` bytes are read, whatever its size claims;
- a file made for untrusted code is created new (``O_CREAT | O_EXCL | O_NOFOLLOW``): an
  existing name, link or not, is an error, never opened.

A refusal is :class:`Refused` (a ``ValueError`` whose message names the file and says why); a
file that is not there is ``FileNotFoundError``. Standard library only: the student kit's
``check`` and Classroom 50's bundle read their own work folders with it too. Where ``openat``
is missing (Windows), links are refused by ``lstat`` on each component instead.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block the reader
_NOCTTY = getattr(os, "O_NOCTTY", 0)
_BINARY = getattr(os, "O_BINARY", 0)
AT_FD = os.open in os.supports_dir_fd and bool(_NOFOLLOW and _DIRECTORY)


class Refused(ValueError):
    """A file untrusted code left that is not read: a link, not a regular file, too large."""


def _parts(relpath: str | PurePosixPath) -> list[str]:
    parts = PurePosixPath(relpath).parts
    if not parts or parts[0] == "/" or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{relpath!s} is not a plain relative path")
    return list(parts)


def _refusal(shown: str, exc: OSError, link: bool = False) -> Exception:
    if link or exc.errno in (errno.ELOOP, errno.EMLINK):
        return Refused(f"{shown} is a symbolic link; the grader does not follow links")
    if exc.errno == errno.ENOTDIR:
        return Refused(f"{shown} is not a folder")
    if exc.errno == errno.ENOENT:
        return FileNotFoundError(errno.ENOENT, "no such file", shown)
    return exc


def _is_link(name: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def open_folder(folder: Path | str | int, relpath: str | None = None) -> int:
    """A descriptor of the folder ``folder`` itself (not of what a link there points to),
    or of ``folder/relpath``, reached by the rules above."""
    if relpath is not None:
        return _open(folder, relpath, os.O_RDONLY | _DIRECTORY)
    try:
        return os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError as exc:
        raise _refusal(str(folder), exc) from None


def _open_beneath(folder: int, parts: list[str], flags: int, mode: int = 0o600) -> int:
    """Open ``parts`` below the folder descriptor, never through a link."""
    fd = folder
    try:
        for i, part in enumerate(parts[:-1]):
            try:
                nxt = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                raise _refusal("/".join(parts[: i + 1]), exc, _is_link(part, fd)) from None
            if fd != folder:
                os.close(fd)
            fd = nxt
        try:
            return os.open(parts[-1], flags | _NOFOLLOW | _CLOEXEC, mode, dir_fd=fd)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise Refused(f"{'/'.join(parts)} exists already; it is never reused") from None
            raise _refusal("/".join(parts), exc) from None
    finally:
        if fd != folder:
            os.close(fd)


def _open_by_path(root: Path, parts: list[str], flags: int, mode: int = 0o600) -> int:
    """The same rule without ``openat`` (Windows): each component checked with lstat."""
    path = root
    for i, part in enumerate(parts):
        path = path / part
        try:
            info = path.lstat()
        except FileNotFoundError:
            if i == len(parts) - 1 and flags & os.O_CREAT:
                break
            raise FileNotFoundError(errno.ENOENT, "no such file", "/".join(parts)) from None
        if stat.S_ISLNK(info.st_mode):
            raise Refused(f"{'/'.join(parts[: i + 1])} is a symbolic link; the grader does "
                          "not follow links")
    try:
        return os.open(path, flags | _BINARY, mode)
    except FileExistsError:
        raise Refused(f"{'/'.join(parts)} exists already; it is never reused") from None


def _open(folder: Path | int, relpath: str | PurePosixPath, flags: int, mode: int = 0o600
          ) -> int:
    parts = _parts(relpath)
    if not AT_FD:
        if isinstance(folder, int):
            raise OSError("folder descriptors need openat, which this system lacks")
        return _open_by_path(Path(folder), parts, flags, mode)
    if isinstance(folder, int):
        return _open_beneath(folder, parts, flags, mode)
    fd = open_folder(folder)
    try:
        return _open_beneath(fd, parts, flags, mode)
    finally:
        os.close(fd)


def read_bytes(folder: Path | int, relpath: str | PurePosixPath, limit: int) -> bytes:
    """The bytes of ``folder/relpath`` (``folder``: a path or a folder descriptor), read as
    the rules above say; :class:`Refused` past ``limit`` bytes."""
    shown = str(PurePosixPath(relpath))
    fd = _open(folder, relpath, os.O_RDONLY | _NONBLOCK | _NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{shown} is not a regular file")
        if info.st_nlink != 1:
            raise Refused(f"{shown} has other names (a hard link); it is not read")
        if info.st_size > limit:
            raise Refused(f"{shown} is {info.st_size} bytes, more than the {limit} allowed")
        chunks, size = [], 0
        while size <= limit:  # a file still growing is read up to the limit, no further
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise Refused(f"{shown} is more than the {limit} bytes allowed")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(folder: Path | int, relpath: str | PurePosixPath, limit: int) -> str:
    """As :func:`read_bytes`, decoded as UTF-8 (undecodable bytes replaced)."""
    return read_bytes(folder, relpath, limit).decode("utf-8", errors="replace")


def create_new(folder: Path | int, relpath: str | PurePosixPath, data: bytes = b"",
               mode: int = 0o600) -> None:
    """Write ``data`` into a new file ``folder/relpath``; an existing name is refused."""
    fd = _open(folder, relpath, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def open_new(folder: Path | int, relpath: str | PurePosixPath, mode: int = 0o600) -> int:
    """A writable descriptor of a new file ``folder/relpath``; an existing name is refused."""
    return _open(folder, relpath, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
