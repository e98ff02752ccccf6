"""A Jupyter server with nbgrader's formgrader and headless Chromium to look at it.

Shared by tests/test_formgrader.py and docs/screenshots.py (which puts tests/ on sys.path).
Plain context managers, no pytest: a server that does not start raises ``RuntimeError``
with its log; a machine without Chromium, chromedriver or selenium raises ``NoBrowser``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from autograder.grader.nbgrader_autograde import PLAIN_ENV


class NoBrowser(RuntimeError):
    """Chromium, chromedriver or selenium is missing."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_server(cwd: Path, home: Path, args: Sequence[str] = (),
                   timeout: float = 120) -> Iterator[tuple[str, str]]:
    """`jupyter server` in `cwd` (formgrader is enabled by nbgrader's install) on 127.0.0.1,
    a free port and a random token: yields (base URL, token); stops it on exit. `home`
    holds its runtime and data folders and server.log; `args` are extra options, such as
    ``--CourseDirectory.db_url=...``."""
    port, token = free_port(), secrets.token_hex(16)
    home.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_DATA_DIR": str(home / "data")}
    env.pop(PLAIN_ENV, None)
    log_path = home / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(bin_dir / "jupyter"), "server", "--no-browser", "--allow-root",
             "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", *args],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while not _answers(f"{url}/formgrader/api/status", token):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("jupyter server did not start:\n"
                                       + log_path.read_text(errors="replace"))
                time.sleep(0.5)
            yield url, token
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _answers(url: str, token: str) -> bool:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def chromium(profile: Path, width: int = 1400, height: int = 900) -> Iterator:
    """Headless Chromium driven by selenium (Debian's chromium and chromium-driver)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_bin = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    if binary is None or driver_bin is None or webdriver is None:
        raise NoBrowser("needs Debian's chromium and chromium-driver (.ci/run installs them) "
                        "and selenium (the dev extra)")
    options = Options()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--hide-scrollbars",
                 f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_bin), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def logged_in(profile: Path, server: tuple[str, str]) -> Iterator:
    """Chromium logged in to ``server`` (base URL, token); with no browser here, the test is
    skipped, or fails on CI, where .ci/run installs one."""
    from helpers import unavailable

    try:
        with chromium(profile) as driver:
            log_in(driver, *server)
            yield driver
    except NoBrowser as exc:
        unavailable(str(exc))


def wait(driver, condition, timeout: float = 60):
    """`condition(driver)` once it is truthy (selenium's WebDriverWait)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)


def log_in(driver, url: str, token: str) -> None:
    """Any formgrader page with the token sets the login cookie for the rest."""
    driver.get(f"{url}/formgrader/manage_assignments?token={token}")


COLUMNS = ("student-name", "student-id", "timestamp", "status", "score")
ROWS_JS = """return Array.from(document.querySelectorAll('#main-table tr')).map(tr =>
  Object.fromEntries(Array.from(tr.querySelectorAll('td')).flatMap(td =>
    arguments[0].filter(c => td.classList.contains(c)).map(c => [c, td.innerText.trim()]))));"""


def submission_rows(driver) -> dict[str, dict[str, str]]:
    """Manage Submissions' table as shown: student id -> column class -> text (read in one go,
    as its script redraws rows)."""
    return {row["student-id"]: row for row in driver.execute_script(ROWS_JS, list(COLUMNS))
            if row.get("student-id")}


def submissions_page(driver, url: str, assignment: str, students: set[str],
                     timeout: float = 60) -> dict[str, dict[str, str]]:
    """Open Manage Submissions and wait until every student's row shows a name and score."""
    driver.get(f"{url}/formgrader/manage_submissions/{assignment}")
    wait(driver, lambda d: set(submission_rows(d)) == students and all(
        r["score"] and r["student-name"] != "Please wait..."
        for r in submission_rows(d).values()), timeout)
    return submission_rows(driver)
