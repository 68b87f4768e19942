"""Build time of the hardened pjsua2 on this machine, vs installing the PyPI wheel.

Each run builds from scratch (``pjproject/build.py --force --no-install`` into a
throwaway cache and venv: configure, the libraries, the SWIG binding, the
wheel) and, as the baseline a newcomer would otherwise pay, installs the PyPI
wheel ``pjsua2-python`` into a fresh venv (pip's own cache allowed, as on a
second machine). A build takes about 2 minutes on 2 cores; the default is 3 runs.
Run: .venv/bin/python -m bench.library_build [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import report

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "pjproject" / "build.py"


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Seconds ``argv`` took; stops the benchmark if it failed."""
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return time.monotonic() - started


def tarball_env() -> dict[str, str]:
    """The environment for a build that finds the pinned source without downloading."""
    env = dict(os.environ)
    cached = Path(os.environ.get("CARELINE_CACHE") or Path.home() / ".cache" / "careline")
    if "PJPROJECT_TARBALL" not in env and (cached / "pjproject-2.15.1.tar.gz").exists():
        env["PJPROJECT_TARBALL"] = str(cached / "pjproject-2.15.1.tar.gz")
    return env


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    builds, wheels = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            venv = Path(tmp) / "venv"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            env = tarball_env()
            env["CARELINE_CACHE"] = str(Path(tmp) / "cache")
            build = [str(venv / "bin" / "python"), str(BUILD), "--venv", str(venv)]
            builds.append(timed([*build, "--force", "--no-install", f"--jobs={args.jobs}"], env))
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            wheels.append(timed([*pip, "--no-deps", "pjsua2-python==2.15.1.post1"], env))
        print(f"run {run + 1}: build {builds[-1]:.0f} s, wheel {wheels[-1]:.1f} s", flush=True)
    print(f"{os.cpu_count()} cores, make -j{args.jobs}")
    report("hardened pjsua2 build", "s", builds, wheels, "PyPI wheel install")


if __name__ == "__main__":
    main()
