# SPDX-License-Identifier: GPL-2.0-or-later
"""Build time of the hardened pjsua2 on this machine, vs installing the PyPI wheel.

Each run builds from scratch (``pjproject/build.py --force --no-install`` into a
throwaway cache and venv: configure, the libraries, the SWIG binding, the
wheel) and, as the baseline a newcomer would otherwise pay, installs the PyPI
wheel ``pjsua2-python`` into a fresh venv (pip's own cache allowed, as on a
second machine). A build takes about 2 minutes on 2 cores; the default is 3 runs.

``--quick`` builds nothing: it times what ``make library`` costs on a machine
that has built once, ``pjproject/build.py --venv`` taking the wheel from the
cache (``~/.cache/careline``) and installing it into a fresh venv, against the
same PyPI wheel install; with no cached build it fails (run ``make library``).
Run: .venv/bin/python -m bench.library_build [--runs 3] [--quick]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import bench_parser, report

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "pjproject" / "build.py"


def timed(argv: list[str], env: dict[str, str], expect: str = "") -> float:
    """Seconds ``argv`` took; stops the benchmark if it failed or did not print ``expect``."""
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or expect not in done.stdout:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    return time.monotonic() - started


def tarball_env() -> dict[str, str]:
    """The environment for a build that finds the pinned source without downloading."""
    env = dict(os.environ)
    cached = cache_dir() / "pjproject-2.15.1.tar.gz"
    if "PJPROJECT_TARBALL" not in env and cached.exists():
        env["PJPROJECT_TARBALL"] = str(cached)
    return env


def fresh_venv(path: Path) -> Path:
    """A new venv at ``path``; its python."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin" / "python"


def cached_wheels() -> list[Path]:
    """The hardened wheels ``make library`` left in the cache."""
    return sorted((cache_dir() / "wheels").glob("*.whl"))


def cache_dir() -> Path:
    """Where build.py caches sources and wheels."""
    return Path(os.environ.get("CARELINE_CACHE") or Path.home() / ".cache" / "careline")


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, runs=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.options()
    if args.quick and not cached_wheels():
        raise SystemExit(f"no hardened wheel cached in {cache_dir()}: run make library first")
    builds, wheels = [], []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = tarball_env()
            python = fresh_venv(Path(tmp) / "venv")
            build = [str(python), str(BUILD), "--venv", str(python.parent.parent)]
            if args.quick:  # the cache's wheel, installed and import-checked
                builds.append(timed(build, env, expect="cached build"))
            else:  # a build from scratch in a throwaway cache, not installed
                env["CARELINE_CACHE"] = str(Path(tmp) / "cache")
                builds.append(
                    timed([*build, "--force", "--no-install", f"--jobs={args.jobs}"], env)
                )
            pip = [str(fresh_venv(Path(tmp) / "pypi")), "-m", "pip", "install", "--quiet"]
            wheels.append(timed([*pip, "--no-deps", "pjsua2-python==2.15.1.post1"], env))
        print(f"run {run + 1}: build {builds[-1]:.1f} s, wheel {wheels[-1]:.1f} s", flush=True)
    if args.quick:
        report("hardened pjsua2 from the cache", "s", builds, wheels, "PyPI wheel install")
    else:
        print(f"{os.cpu_count()} cores, make -j{args.jobs}")
        report("hardened pjsua2 build", "s", builds, wheels, "PyPI wheel install")


if __name__ == "__main__":
    main()
