"""Benchmark: the platform autograders on the solution, as the platforms run them.

Gradescope: the zip from `python -m autograder gradescope`, installed in a folder laid out
like /autograder (tests/platform_local.py), `run_autograder` on the solution
  (a) with no limits (the grader always uses one thread there),
  (b) in a cgroup like Gradescope's default container: half a CPU, 768 MB,
  (c) in a cgroup with half a CPU and the memory the zip asks for.
(b) and (c) need root and a writable cgroup hierarchy (v1 or v2); they are skipped otherwise.
Classroom 50: the bundle's `autograder.py` in a checkout of the solution, as the runner calls
it (its pip step finds everything installed).
Wall time around each command; CPU seconds of the command's process tree; peak memory as
the summed RSS of the tree (psutil, every 0.1 s) and, in a cgroup, the cgroup's own peak
(what its limit counts, page cache included).

    .venv/bin/python bench/bench_platforms.py [--json OUT]
"""

from __future__ import annotations

import argparse
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
    build_bundle,
    build_zip,
    bundle_command,
    install,
    overlay_venv,
    submit,
)

SOLUTION = ROOT / "solutions" / "digit_recognition" / "digit_recognition.ipynb"
MiB = 2**20
HALF_CPU_US = 50_000  # of every 100 000 us


class Cgroup:
    """A memory- and CPU-limited cgroup to run a command in (v2, else v1), or None."""

    def __init__(self, name: str, memory: int, cpu_quota_us: int):
        self.dirs: list[Path] = []
        v2 = Path("/sys/fs/cgroup")
        if (v2 / "cgroup.controllers").is_file():
            self.dirs = [v2 / name]
            self.peak_file = "memory.peak"
            self._make(self.dirs[0], {"memory.max": memory,
                                      "cpu.max": f"{cpu_quota_us} 100000"})
        else:
            self.dirs = [v2 / "memory" / name, v2 / "cpu" / name]
            self.peak_file = "memory.max_usage_in_bytes"
            self._make(self.dirs[0], {"memory.limit_in_bytes": memory})
            self._make(self.dirs[1], {"cpu.cfs_quota_us": cpu_quota_us})

    @staticmethod
    def _make(folder: Path, settings: dict) -> None:
        folder.mkdir(exist_ok=True)
        for key, value in settings.items():
            (folder / key).write_text(f"{value}\n")

    def wrap(self, cmd: list[str]) -> list[str]:
        joins = " && ".join(f"echo $$ > {d / 'cgroup.procs'}" for d in self.dirs)
        return ["sh", "-c", f'{joins} && exec "$@"', "sh", *cmd]

    def peak(self) -> int:
        try:
            return int((self.dirs[0] / self.peak_file).read_text())
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        for folder in self.dirs:
            try:
                folder.rmdir()
            except OSError:
                pass


def cgroup_or_none(name: str, memory: int) -> Cgroup | None:
    if os.geteuid() != 0:
        return None
    try:
        return Cgroup(name, memory, HALF_CPU_US)
    except OSError as exc:
        print(f"  (no cgroup here: {exc})")
        return None


def gradescope(work: Path, label: str, root: Path, cgroup: Cgroup | None) -> dict:
    submit(root, {"digit_recognition.ipynb": SOLUTION.read_bytes()})
    cmd = ["bash", str(root / "source" / "run_autograder")]
    m = Measure(label, 1)
    cpu0 = os.times()
    timed(cgroup.wrap(cmd) if cgroup else cmd, m, cwd=root,
          env={**os.environ, "AUTOGRADER_ROOT": str(root)})
    cpu1 = os.times()
    doc = json.loads((root / "results" / "results.json").read_text())
    figures = {"run": label, "wall_s": round(m.wall, 1),
               "cpu_s": round(cpu1.children_user - cpu0.children_user
                              + cpu1.children_system - cpu0.children_system, 1),
               "tree_peak_gib": round(m.tree_peak / GiB, 2),
               "cgroup_peak_gib": round(cgroup.peak() / GiB, 2) if cgroup else None,
               "score": doc["score"], "other_cores": round(m.other_cores, 2),
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
        for mb in (768, MEMORY_NEEDED_MB):
            group = cgroup_or_none(f"bench-gradescope-{os.getpid()}-{mb}", mb * MiB)
            if group is None:
                print(f"  gradescope, 0.5 CPU, {mb} MB: skipped (needs root and cgroups)")
                continue
            try:
                results.append(gradescope(work, f"gradescope, 0.5 CPU, {mb} MB", root, group))
            finally:
                group.remove()
        bundle = build_bundle(work / "classroom50")
        repo = work / "checkout" / "assignments" / "digit_recognition"
        repo.mkdir(parents=True)
        shutil.copy(SOLUTION, repo)
        python = overlay_venv(work / "c50-venv")
        m = Measure("classroom50 bundle", 1)
        cmd, env = bundle_command(bundle, work / "checkout", python)
        timed(cmd, m, cwd=work / "checkout", env=env)
        doc = json.loads((work / "checkout" / "result.json").read_text())
        results.append({"run": m.label, "wall_s": round(m.wall, 1),
                        "tree_peak_gib": round(m.tree_peak / GiB, 2), "score": doc["score"],
                        "other_cores": round(m.other_cores, 2)})
        print(f"  {results[-1]}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    ok = [r for r in results if "768 MB" not in r["run"]]
    return 0 if all(r["score"] == 100 for r in ok) else 1


if __name__ == "__main__":
    sys.exit(main())
