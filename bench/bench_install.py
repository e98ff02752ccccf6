"""The student workflow's latency, step by step: install (pip against uv, cold and warm
cache), TensorFlow import, the notebook's run, reporting.

Run: ``.venv/bin/python bench/bench_install.py [--rounds 2] [--json OUT]``. Each install
is the student's (``install -e .``) into a fresh venv, from two sources, the same for both
tools:

- ``pypi``: the registry, as on GitHub (this machine's local mirrors switched off);
- ``wheelhouse``: a folder of the very same wheel files, downloaded once beforehand, with
  no index: the installers' own work, without the network.

Each install is followed by the first ``import tensorflow`` in the new venv, which compiles
the bytecode an installer left uncompiled.

"cold" starts from an empty tool cache, "warm" from the cache the cold run left, and for uv
"pruned" from that cache after ``uv cache prune --ci`` (what the workflow saves, as uv
advises for CI). Nothing in the repository is written.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RELEASE = REPO / "assignments" / "digit_recognition" / "digit_recognition.ipynb"
SOLUTION = REPO / "solutions" / "digit_recognition" / "digit_recognition.ipynb"


def clean_env(cache: Path) -> dict[str, str]:
    """PyPI for both tools: no pip.conf mirrors, no find-links, no uv config."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "UV_", "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_CACHE_DIR=str(cache), UV_CACHE_DIR=str(cache), UV_NO_CONFIG="1")
    return env


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    return time.perf_counter() - start


# The installers compared: pip compiles bytecode as it installs; uv does not unless asked,
# and the first import then compiles it (each CI run starts from a fresh install).
INSTALLERS = {
    "pip": lambda python, uv: [python, "-m", "pip", "install", "-q"],
    "uv": lambda python, uv: [uv, "pip", "install", "-q", "--python", python],
    "uv --compile-bytecode": lambda python, uv: [uv, "pip", "install", "-q", "--python", python,
                                                 "--compile-bytecode"],
}


def install(tool: str, venv: Path, cache: Path, uv: str, wheels: Path | None
            ) -> tuple[float, float]:
    """(seconds to install, seconds of the first ``import tensorflow`` after it)."""
    env = clean_env(cache)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    source = ["--no-index", "--find-links", str(wheels)] if wheels else []
    seconds = timed([*INSTALLERS[tool](python, uv), *source, "-e", str(REPO)], env)
    return seconds, timed([python, "-c", "import tensorflow"],
                          {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def du_mib(path: Path) -> float:
    """Disk use of a cache folder, MiB (what actions/cache would pack)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20 \
        if path.exists() else 0.0


def wheelhouse(work: Path) -> Path:
    """The wheels of the student's install and of its build, downloaded once."""
    wheels = work / "wheels"
    env = clean_env(work / "download-cache")
    for what in ([str(REPO)], ["setuptools>=68", "wheel"]):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(wheels),
                        *what], env=env, check=True)
    return wheels


def tool_uv(work: Path) -> str:
    """uv itself, installed once outside the timed runs (as setup-uv would)."""
    found = shutil.which("uv")
    if found:
        return found
    subprocess.run([sys.executable, "-m", "venv", str(work / "uv")], check=True)
    subprocess.run([str(work / "uv" / "bin" / "pip"), "install", "-q", "uv"], check=True,
                   env=clean_env(work / "uv-cache"))
    return str(work / "uv" / "bin" / "uv")


def student_notebook(path: Path) -> None:
    """The release with the solution's answers: a student whose notebook trains and passes."""
    import nbformat

    from autograder.public.grade import with_answers

    merged, _ = with_answers(nbformat.read(RELEASE, as_version=4),
                             nbformat.read(SOLUTION, as_version=4))
    nbformat.write(merged, path)


def after_install(venv: Path, work: Path) -> dict[str, float]:
    """The steps after Install, in the venv it made: TF import, notebook run, reporting."""
    python = str(venv / "bin" / "python")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
           "GITHUB_STEP_SUMMARY": str(work / "summary.md"), "GITHUB_OUTPUT": str(work / "out")}
    figures = {"tensorflow import (bytecode compiled)": timed(
        [python, "-c", "import tensorflow"], env)}
    notebook = work / "digit_recognition.ipynb"
    student_notebook(notebook)

    def ci(path: Path) -> float:
        start = time.perf_counter()
        subprocess.run([python, "-m", "autograder.student.ci", str(path)], env=env, cwd=work,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    # ci on a missing notebook does everything but the run: start-up, summary, annotations
    reporting = ci(work / "missing.ipynb")
    figures["notebook run"] = ci(notebook) - reporting
    figures["reporting"] = reporting
    return figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", type=Path)
    p.add_argument("--sources", nargs="+", choices=("pypi", "wheelhouse"),
                   default=["pypi", "wheelhouse"])
    args = p.parse_args()
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        work = Path(tmp)
        uv = tool_uv(work)
        sources = {s: (wheelhouse(work) if s == "wheelhouse" else None) for s in args.sources}
        for _ in range(args.rounds):
            for (source, wheels), tool in itertools.product(sources.items(), INSTALLERS):
                cache = work / "cache"
                shutil.rmtree(cache, ignore_errors=True)
                venv = work / "venv"
                kinds = ("cold", "warm", "pruned") if tool.startswith("uv") else ("cold", "warm")
                for kind in kinds:
                    if kind == "pruned":  # what the workflow saves: uv's advice for CI
                        subprocess.run([uv, "cache", "prune", "--ci", "-q"], check=True,
                                       env=clean_env(cache))
                    if kind != "cold":
                        rows.setdefault(f"{tool} cache before a {kind} install, {source}, MiB",
                                        []).append(du_mib(cache))
                    seconds, first_import = install(tool, venv, cache, uv, wheels)
                    name = f"{tool} from {source}, {kind} cache"
                    rows.setdefault(f"{name}: install", []).append(seconds)
                    rows.setdefault(f"{name}: first TensorFlow import", []).append(first_import)
                    rows.setdefault(f"{name}: both", []).append(seconds + first_import)
                    print(f"{name}: install {seconds:.1f} s, then first import "
                          f"{first_import:.1f} s", flush=True)
            for name, seconds in after_install(work / "venv", work).items():
                rows.setdefault(name, []).append(seconds)
                print(f"{name}: {seconds:.1f} s", flush=True)
    print(f"\n{os.cpu_count()} cores; load average at the end: {os.getloadavg()}")
    print("| step | " + " | ".join(f"run {i + 1}" for i in range(args.rounds)) + " |")
    print("|---|" + "---|" * args.rounds)
    for name, values in rows.items():
        unit = "" if name.endswith("MiB") else " s"
        print(f"| {name} | " + " | ".join(f"{v:.1f}{unit}" for v in values) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
