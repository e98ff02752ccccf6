"""axe-core, the accessibility engine, run on a page in headless Chromium.

    with axe.browser() as driver:
        counts = axe.audit(driver, Path("page.html"))   # {"color-contrast": 12, ...}

``audit`` runs every rule of WCAG 2.0 and 2.1, levels A and AA, and the best-practice rules
named (by default ``heading-order`` and ``region``), and counts the elements that break each
rule; ``{}`` is a page that passes. ``violations`` gives axe's own findings, for a message
that names the elements.

axe-core is the npm package, fetched once from the registry and kept in ``build/axe/``
(git-ignored; ``make clean`` empties it). The tarball is checked against the sha512 the
registry published for this version, pinned below, on download and on every use, so a
changed file there is refused, not run. Only ``package/axe.min.js`` is read from it.

The script is injected through the driver, never written into a page: our pages forbid
scripts (their Content-Security-Policy), and a script the driver evaluates is not the
page's, so the policy does not stop it, and axe needs no ``eval``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from formgrader_driver import NoBrowser, chromium

VERSION = "4.14.1"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
# dist.integrity of https://registry.npmjs.org/axe-core/4.14.1
INTEGRITY = ("sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJp"
             "Ze37OgudVGtQ==")
CACHE = Path(__file__).resolve().parent.parent / "build" / "axe" / f"axe-core-{VERSION}.tgz"
MEMBER = "package/axe.min.js"

WCAG = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BEST_PRACTICE = ("heading-order", "region")

__all__ = ["BEST_PRACTICE", "WCAG", "NoAxe", "NoBrowser", "audit", "browser", "counts",
           "script", "violations"]


class NoAxe(RuntimeError):
    """axe-core could not be fetched (no network) or did not match its pinned hash."""


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def _tarball() -> bytes:
    """The pinned tarball, from the cache or the registry; refused if its hash differs."""
    if CACHE.is_file():
        data = CACHE.read_bytes()
    else:
        try:
            with urllib.request.urlopen(TARBALL, timeout=60) as response:
                data = response.read()
        except OSError as exc:
            raise NoAxe(f"axe-core {VERSION} could not be downloaded from {TARBALL}: {exc}"
                        ) from None
    if _integrity(data) != INTEGRITY:
        raise NoAxe(f"{TARBALL} (or {CACHE}) does not match its pinned sha512: delete "
                    f"{CACHE} and try again; if it persists, do not run it")
    if not CACHE.is_file():  # written whole, then renamed: a cache is never half a file
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=CACHE.parent, delete=False) as part:
            part.write(data)
        os.chmod(part.name, 0o644)
        os.replace(part.name, CACHE)
    return data


_SCRIPT: str | None = None


def script() -> str:
    """axe.min.js, read from the verified tarball (once per process)."""
    global _SCRIPT
    if _SCRIPT is None:
        with tarfile.open(fileobj=io.BytesIO(_tarball()), mode="r:gz") as tar:
            _SCRIPT = tar.extractfile(MEMBER).read().decode("utf-8")
    return _SCRIPT


@contextmanager
def browser(width: int = 1280, height: int = 900) -> Iterator:
    """Headless Chromium (formgrader_driver's) with a throw-away profile. Raises
    ``NoBrowser`` where Chromium, chromedriver or selenium is missing."""
    with tempfile.TemporaryDirectory(prefix="axe-profile-") as profile, \
            chromium(Path(profile), width, height) as driver:
        driver.set_script_timeout(300)  # a notebook page has thousands of elements
        yield driver


# axe.run is asynchronous; selenium's async script ends with the callback it passes last.
RUN = """const [options, done] = [arguments[0], arguments[arguments.length - 1]];
axe.run(document, options).then(
  r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                              html: n.html.slice(0, 200)}))}))),
  e => done({error: String(e)}));"""


def _run(driver, options: dict) -> list[dict]:
    found = driver.execute_async_script(RUN, options)
    if isinstance(found, dict):
        raise RuntimeError(f"axe.run failed: {found['error']}")
    return found


def violations(driver, page: Path | str,
               best_practice: tuple[str, ...] = BEST_PRACTICE) -> list[dict]:
    """axe's violations on ``page`` (a file or a URL): each ``{id, impact, help, nodes}``,
    a node ``{target, summary, html}``. The WCAG 2.0/2.1 A and AA rules, then the
    ``best_practice`` rules named."""
    driver.get(Path(page).resolve().as_uri() if isinstance(page, Path) else page)
    driver.execute_script(script())
    found = _run(driver, {"runOnly": {"type": "tag", "values": list(WCAG)},
                          "resultTypes": ["violations"]})
    if best_practice:
        found += _run(driver, {"runOnly": {"type": "rule", "values": list(best_practice)},
                               "resultTypes": ["violations"]})
    return found


def counts(found: list[dict]) -> dict[str, int]:
    """Rule id -> how many elements break it."""
    return {v["id"]: len(v["nodes"]) for v in found}


def audit(driver, page: Path | str,
          best_practice: tuple[str, ...] = BEST_PRACTICE) -> dict[str, int]:
    """Rule id -> how many elements of ``page`` break it; ``{}``: none does."""
    return counts(violations(driver, page, best_practice))
