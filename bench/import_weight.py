# SPDX-License-Identifier: GPL-2.0-or-later
"""What the idle console's imports weigh alone: its modules loaded into a bare interpreter.

The console (`careline run`, tmux, an isolated home, its second start there: the first
composes its YAML, every later one reads the cache) and the layout baseline
(``bench.baseline_layout``: the agent screen's widgets, no careline code) each run
under ``-X importtime`` until idle; the modules each loaded are then imported, and
nothing else run, into a fresh interpreter whose RSS is read. The difference is
what careline's code and libraries cost before any of its state. To say where it
goes, the console's own modules are then added one at a time, in the order their
imports finished (what a module imports is loaded before it), and each step is
charged to the module's package; a package's ``__init__`` is charged to whichever
of its modules came first. These steps are indicative (a few hundred KiB either
way): memory an earlier import freed is reused by a later one, so the order moves
weight between packages; the total does not move.
Run: .venv/bin/python -m bench.import_weight [--runs 3]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import bench_parser, isolated_home, report, stop_home
from tests.support import ROOT, free_udp_port
from tests.tmux import TmuxSession

IMPORT_ALL = """
import importlib, re, sys
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read())[1]) / 1024
groups = [line.split() for line in sys.stdin.read().split("\\n--\\n")]
for names in groups:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # a module only its importer's platform has (nt, winreg...)
            pass
    print(f"{rss():.3f}", flush=True)
"""
"""Imports each group of module names (groups split by ``--`` lines), prints RSS after each."""


def loaded_modules(argv: Sequence[str], env: dict[str, str], up: str) -> list[str]:
    """The modules ``python -X importtime ARGV`` loaded by the time ``up`` is on screen,
    in the order their imports finished."""
    with tempfile.NamedTemporaryFile(prefix="careline-bench-", suffix=".txt") as log:
        # Textual paints on stderr too: a copy goes to the file, and the importtime
        # lines are picked out of it.
        tee = f'exec "$0" "$@" 2> >(tee {log.name} >&2)'
        command = ["bash", "-c", tee, sys.executable, "-X", "importtime"]
        session = TmuxSession([*command, *argv], env)
        try:
            session.wait_for(up, 60)
            time.sleep(2)
        finally:
            session.kill()
        lines = Path(log.name).read_bytes().decode(errors="replace").splitlines()
    names = [line.split("|")[2].strip() for line in lines if line.startswith("import time:")]
    return [name for name in names if name and name != "package"]


def package(name: str) -> str:
    """The package a module is charged to: ``console.core.config``, ``console.controllers``,
    ``yaml``; standard-library and other modules by their top name."""
    parts = name.split(".")
    if parts[0] == "console" and len(parts) > 2 and parts[1] == "core":
        return ".".join(parts[:3])
    return ".".join(parts[:2]) if parts[0] == "console" and len(parts) > 1 else parts[0]


def rss_importing(groups: Sequence[Sequence[str]]) -> list[float]:
    """MiB after importing each group in turn, in one fresh interpreter run from the checkout."""
    text = "\n--\n".join(" ".join(group) for group in groups)
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        input=text,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [float(value) for value in done.stdout.split()]


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__, runs=3).options()
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{free_udp_port()}"
        # The first start in a home composes its YAML and caches it; every later one (an
        # agent's every day, bench.idle_memory's headline) reads the cache without PyYAML.
        loaded_modules(["-m", "console", "run"], env, "phone online")
        stop_home(env)  # the engine outlives its console: the next start starts its own
        console = loaded_modules(["-m", "console", "run"], env, "phone online")
    with isolated_home() as env:
        layout = loaded_modules(["-m", "bench.baseline_layout"], env, "layout baseline")
    extra = [name for name in dict.fromkeys(console) if name not in set(layout)]
    packages: dict[str, list[str]] = {}
    for name in extra:
        packages.setdefault(package(name), []).append(name)
    heaviest = sorted(packages, key=lambda p: len(packages[p]), reverse=True)
    baseline, full = [], []
    steps: dict[str, list[float]] = {name: [] for name in packages}
    for _ in range(args.runs):
        after = rss_importing([layout, *([name] for name in extra)])
        baseline.append(after[0])
        full.append(after[-1])
        charged = dict.fromkeys(packages, 0.0)
        for name, before, now in zip(extra, after[:-1], after[1:], strict=True):
            charged[package(name)] += now - before
        for name, mib in charged.items():
            steps[name].append(mib)
    print(
        f"{len(console)} modules at idle in the console, {len(layout)} in the layout "
        f"baseline, {len(extra)} the console's own; the heaviest in count: "
        + ", ".join(f"{p} ({len(packages[p])})" for p in heaviest[:5]),
        flush=True,
    )
    report(
        "idle console's modules imported alone",
        "MiB",
        full,
        baseline,
        "layout baseline's modules imported alone",
    )
    for name in sorted(steps, key=lambda p: -sorted(steps[p])[len(steps[p]) // 2]):
        if max(steps[name]) >= 0.1:
            report(f"imports of {name} ({len(packages[name])} modules)", "MiB", steps[name])


if __name__ == "__main__":
    main()
