"""A throw-away PostgreSQL server for gradebook tests (fixture ``postgres_url``).

The server is real: ``initdb`` into a temporary folder, ``pg_ctl start`` on 127.0.0.1 with a
free port, one database, ``pg_ctl stop -m fast`` afterwards. PostgreSQL refuses to run as
root, so under root it runs as the ``postgres`` OS user. When it cannot be started the tests
that need it are skipped with the reason, unless AUTOGRADER_REQUIRE_POSTGRES=1 (CI) turns
the skip into a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

DATABASE = "gradebook"
REQUIRE_ENV = "AUTOGRADER_REQUIRE_POSTGRES"
# Durability is worthless for a test database; these make initdb and start take ~1-2 s.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "30",
}


class ServerUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why."""


def find_bin_dir() -> Path:
    """The folder holding initdb and pg_ctl: PATH first, then Debian's versioned layout."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        # /usr/local/bin symlinks point into the real folder, where postgres also lives.
        return Path(os.path.realpath(on_path)).parent
    # Debian/Ubuntu's postgresql package installs only here, newest version last.
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: [int(x) for x in Path(p).parent.name.split(".")
                                       if x.isdigit()])
    for folder in reversed(candidates):
        if all((Path(folder) / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    raise ServerUnavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in "
        "/usr/lib/postgresql/*/bin; install them with `apt-get install postgresql`")


def _as_user() -> tuple[list[str], pwd.struct_passwd | None]:
    """Command prefix that drops root to the postgres user, and that user."""
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable("running as root and there is no `postgres` OS user to run "
                                "the server as (PostgreSQL refuses root)") from None
    runuser = shutil.which("runuser") or shutil.which("setpriv")
    if runuser is None:
        raise ServerUnavailable("running as root and neither runuser nor setpriv is available "
                                "to start the server as `postgres`")
    if runuser.endswith("runuser"):
        return [runuser, "-u", "postgres", "--"], user
    return [runuser, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"], user


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], what: str, cwd: Path, timeout: float = 60) -> None:
    # cwd: the postgres user may not be allowed into the caller's folder
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if proc.returncode != 0:
        raise ServerUnavailable(f"{what} failed (exit {proc.returncode}): "
                                f"{(proc.stdout + proc.stderr).strip()[-1500:]}")


class PostgresServer:
    """One initdb'd cluster in a temporary folder, started on a free localhost port."""

    def __init__(self) -> None:
        try:
            import psycopg2  # noqa: F401  (SQLAlchemy's default PostgreSQL driver)
        except ImportError:
            raise ServerUnavailable("psycopg2 is not installed: "
                                    ".venv/bin/pip install psycopg2-binary") from None
        self.bin = find_bin_dir()
        self.prefix, self.user = _as_user()
        # Not under pytest's tmp_path: that is mode 0700 for root, which postgres cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix="pg-test-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.started = False

    def _tool(self, name: str) -> str:
        return str(self.bin / name)

    def start(self) -> str:
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        _run([*self.prefix, self._tool("initdb"), "-D", str(self.data), "-U", "postgres",
              "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], "initdb", self.root)
        options = " ".join(f"-c {k}={v}" for k, v in FAST_SETTINGS.items())
        last_error = None
        for _ in range(3):  # another process may take the free port before the server does
            self.port = _free_port()
            cmd = [*self.prefix, self._tool("pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                   "-w", "-t", "60", "-o",
                   f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   f"-c unix_socket_directories={self.root} {options}", "start"]
            self.started = True  # from here on a stop is due, even if start reports failure
            try:
                _run(cmd, "pg_ctl start", self.root, timeout=90)
                break
            except ServerUnavailable as exc:
                self.stop()
                last_error = f"{exc}\n{self._log_tail()}"
        else:
            raise ServerUnavailable(last_error or "pg_ctl start failed")
        self._create_database()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _create_database(self) -> None:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                        dbname="postgres", connect_timeout=5)
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            conn.close()

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.started and (self.data / "postmaster.pid").exists():
            subprocess.run([*self.prefix, self._tool("pg_ctl"), "-D", str(self.data),
                            "-m", "fast", "-w", "-t", "30", "stop"],
                           capture_output=True, timeout=60, cwd=self.root)
        self.started = False

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of an empty database on a real PostgreSQL server, for the session."""
    server = None
    problem = None
    try:
        server = PostgresServer()
        url = server.start()
    except (ServerUnavailable, OSError, subprocess.TimeoutExpired) as exc:
        problem = f"PostgreSQL server not available: {exc}"
    except BaseException:
        problem = "unexpected"
        raise
    finally:
        if problem and server is not None:  # a half-started server must not outlive us
            server.stop()
            server.remove()
    if problem:
        print(problem, file=sys.stderr)
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{problem} ({REQUIRE_ENV}=1)")
        pytest.skip(problem)
    try:
        yield url
    finally:
        server.stop()
        server.remove()
