"""Benchmark: the platform autograders on the solution, as the platforms run them.

Gradescope: the zip from `python -m autograder gradescope`, installed in a folder laid out
like /autograder (tests/platform_local.py), `run_autograder` on the solution
  (a) with no limits (the grader always uses one thread there),
  (b) in a cgroup like Gradescope's default container: half a CPU, 768 MB, the notebook's
      memory counted by a cgroup of its own (where the container's hierarchy is writable)
      and by PSS (AUTOGRADER_MEMORY=pss: where it is not, as in most containers),
  (c) in a cgroup with half a CPU and the memory the zip asks for, if that is more.
(b) and (c) need root and a writable cgroup hierarchy (v1 or v2); they are skipped otherwise.
Classroom 50: the bundle's `autograder.py` in a checkout of the solution, as the runner calls
it (its pip step finds everything installed).
Wall time around each command; CPU seconds of the command's process tree; peak memory as
the summed RSS of the tree (psutil, every 0.1 s) and, in a cgroup, the cgroup's own peak
(what its limit counts, page cache included: the cache of Python's, TensorFlow's and the
course's files is emptied first, so that the run is charged for them as a fresh container).

    .venv/bin/python bench/bench_platforms.py [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench_grade import GiB, Measure, timed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from platform_local import (  # noqa: E402  (the tests' harness, shared)
    Cgroup,
    build_bundle,
    build_zip,
    bundle_command,
    cgroup_or_none,
    evict_page_cache,
    install,
    overlay_venv,
    submit,
)

SOLUTION = ROOT / "solutions" / "digit_recognition" / "digit_recognition.ipynb"
MiB = 2**20


def run_in(group: Cgroup | None, cmd: list[str], m: Measure, cwd: Path, env: dict) -> str:
    """``timed`` in ``group`` if any, its unreclaimable memory sampled meanwhile."""
    with group.sampled() if group else contextlib.nullcontext():
        return timed(group.wrap(cmd) if group else cmd, m, cwd=cwd, env=env)


def in_cgroup(group: Cgroup | None) -> dict:
    """A run's cgroup peaks, in GiB (None without a cgroup)."""
    return {"cgroup_peak_gib": round(group.peak() / GiB, 2) if group else None,
            "cgroup_anonymous_peak_gib": round(group.anonymous_peak / GiB, 2) if group else None}


def gradescope(work: Path, label: str, root: Path, cgroup: Cgroup | None,
               meter: str = "auto") -> dict:
    submit(root, {"digit_recognition.ipynb": SOLUTION.read_bytes()})
    if cgroup:
        evict_page_cache(Path(sys.prefix), Path(sys.base_prefix), root)
    cmd = ["bash", str(root / "source" / "run_autograder")]
    m = Measure(label, 1)
    cpu0 = os.times()
    output = run_in(cgroup, cmd, m, root,
                    {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_MEMORY": meter})
    cpu1 = os.times()
    doc = json.loads((root / "results" / "results.json").read_text())
    figures = {"run": label, "wall_s": round(m.wall, 1),
               "cpu_s": round(cpu1.children_user - cpu0.children_user
                              + cpu1.children_system - cpu0.children_system, 1),
               "tree_peak_gib": round(m.tree_peak / GiB, 2),
               **in_cgroup(cgroup),
               "score": doc["score"], "other_cores": round(m.other_cores, 2),
               "memory": next((line for line in output.splitlines()
                               if line.startswith("memory:")), ""),
               "output": doc["output"][:160]}
    print(f"  {label}: {figures}", flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the figures as JSON")
    args = p.parse_args(argv)
    load = os.getloadavg()
    print(f"bench: {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
          flush=True)
    from autograder.grader.platforms.gradescope_settings import MEMORY_NEEDED_MB

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-platforms-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        zip_path = build_zip(work / "autograder.zip")
        print(f"  zip built in {time.perf_counter() - start:.1f} s, "
              f"{zip_path.stat().st_size / MiB:.1f} MiB", flush=True)
        start = time.perf_counter()
        root = install(zip_path, work / "gradescope")
        print(f"  setup.sh install step (everything already installed): "
              f"{time.perf_counter() - start:.1f} s", flush=True)
        results.append(gradescope(work, "gradescope, no limits", root, None))
        runs = [(768, "auto"), (768, "pss")]
        runs += [(MEMORY_NEEDED_MB, "auto")] if MEMORY_NEEDED_MB > 768 else []
        for mb, meter in runs:
            label = (f"gradescope, 0.5 CPU, {mb} MB, notebook counted by "
                     f"{'PSS' if meter == 'pss' else 'its cgroup'}")
            group = cgroup_or_none(f"bench-gradescope-{os.getpid()}-{mb}-{meter}", mb * MiB)
            if group is None:
                print(f"  {label}: skipped (needs root and cgroups)")
                continue
            try:
                results.append(gradescope(work, label, root, group, meter))
            finally:
                group.remove()
        bundle = build_bundle(work / "classroom50")
        repo = work / "checkout" / "assignments" / "digit_recognition"
        repo.mkdir(parents=True)
        shutil.copy(SOLUTION, repo)
        python = overlay_venv(work / "c50-venv")
        m = Measure("classroom50 bundle", 1)
        cmd, env = bundle_command(bundle, work / "checkout", python)
        group = cgroup_or_none(f"bench-classroom50-{os.getpid()}", None, None)
        try:
            run_in(group, cmd, m, work / "checkout", env)
            results.append({"run": m.label, "wall_s": round(m.wall, 1),
                            "tree_peak_gib": round(m.tree_peak / GiB, 2), **in_cgroup(group),
                            "score": json.loads((work / "checkout" / "result.json")
                                                .read_text())["score"],
                            "other_cores": round(m.other_cores, 2)})
        finally:
            if group:
                group.remove()
        print(f"  {results[-1]}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["score"] == 100 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
