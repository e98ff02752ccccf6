"""Runs first inside fresh Linux namespaces and locks the submission in before it starts.

Started by ``autograder.grader.steps.execute`` (see ``isolation.isolation_prefix``) as::

    unshare --mount --net --pid --fork --kill-child --mount-proc -- \\
        python -m autograder.grader.sandbox.jail --hide PATH ... --reveal PATH ... \\
        --uid N -- COMMAND ...

In the new mount namespace it covers every ``--hide`` path (an empty read-only tmpfs over a
folder, /dev/null over a file), brings back each ``--reveal`` path that lies below a hidden
one (bind-mounted through an fd opened before hiding, so it keeps its path), then drops to
an unprivileged uid (which also drops every capability, so the mounts cannot be undone and
RLIMIT_NPROC applies) and execs COMMAND. The network namespace has no interfaces up; the
kernel talks to the worker over Unix sockets.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import sys

from autograder.grader.sandbox.limits import die_with_parent

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_NOEXEC = 8
MS_PRIVATE = 1 << 18
CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    ok = _libc.mount(source.encode(), target.encode(),
                     fstype.encode() if fstype else None, flags, data.encode() or None)
    if ok != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} -> {target}: {os.strerror(err)}")


MNT_DETACH = 2


def umount(target: str) -> None:
    """Detach the mount at target (lazily: a process still inside keeps it until it ends)."""
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


def unshare_namespaces() -> None:
    """What ``unshare --mount --net --pid`` does: new mount and network namespaces for this
    process, a new PID namespace for its next child, and this process's mounts made private
    so that nothing done here reaches the grader's view."""
    if _libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare: {os.strerror(err)}")
    mount("none", "/", None, MS_REC | MS_PRIVATE)


def mount_proc() -> None:
    """As ``unshare --mount-proc``: a /proc that shows only this PID namespace."""
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV)


def hide(path: str) -> bool:
    """Cover path; False when it is already out of sight (under an earlier hidden folder)."""
    if os.path.isdir(path):
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
        return True
    if os.path.exists(path):
        mount("/dev/null", path, None, MS_BIND)
    return False


def seal(path: str) -> None:
    mount("tmpfs", path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
          "size=64k,mode=755")


def lock_in(hidden: list[str], revealed: list[str]) -> None:
    hidden = list(dict.fromkeys(os.path.realpath(p) for p in hidden if os.path.lexists(p)))
    kept = {}
    for path in revealed:
        path = os.path.realpath(path)
        if any(path == h or path.startswith(h + os.sep) for h in hidden):
            kept[path] = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    # Hide outer paths first so a nested hidden path is simply covered.
    covered = [path for path in sorted(hidden, key=len) if hide(path)]
    for path, fd in kept.items():
        os.makedirs(path, exist_ok=True)  # inside the tmpfs that hid it
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    # A revealed folder (say, a repository under /root) may hold hidden paths again.
    for path in sorted(hidden, key=len):
        if any(path.startswith(k + os.sep) for k in kept) and hide(path):
            covered.append(path)
    for path in covered:
        seal(path)


def drop_privileges(uid: int, nproc: int) -> None:
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    # Changing uid clears the parent-death signal `unshare --kill-child` set: set it again,
    # so the whole namespace dies with the grader even when the grader is SIGKILLed.
    die_with_parent()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.grader.sandbox.jail")
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--reveal", action="append", default=[])
    parser.add_argument("--uid", type=int, required=True)
    parser.add_argument("--nproc", type=int, default=1024)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        lock_in(args.hide, args.reveal)
        drop_privileges(args.uid, args.nproc)
    except OSError as exc:
        print(f"sandbox setup failed: {exc}", file=sys.stderr)
        return 4
    os.execve(command[0], command, os.environ)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
