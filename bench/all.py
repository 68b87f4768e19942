# SPDX-License-Identifier: GPL-2.0-or-later
"""Every benchmark, one after the other, and one table of their figures.

Each bench runs as its own process (``python -m bench.NAME``, one at a time:
they measure time and CPU on a machine nothing else should load); its report
lines (``<figure>: median … (min …, max …, n=…); <baseline> median …; ratio …x``)
become the rows of one markdown table: figure | median | min–max | baseline |
ratio. Lines in another shape (counts, codecs, p95s) stay in each bench's own
output. Progress goes to stderr; a bench that fails is named after the table,
with the end of its stderr, and the exit code is 1.
Run: .venv/bin/python -m bench.all [--quick] [--only NAME …]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
HELPERS = frozenset({"__init__", "all", "baseline_layout", "common", "station_probe"})
"""Modules of bench/ that are not benchmarks (station_probe is a child of audio_latency,
baseline_layout a baseline of idle_memory)."""
QUICK_TIMEOUT = 300.0
"""Seconds a bench gets in quick mode; a full run has no limit (a build takes minutes)."""

REPORT = re.compile(
    r"^(?P<figure>.+?): median (?P<median>\S+) ?(?P<unit>[^(]*?) \(min (?P<min>\S+), "
    r"max (?P<max>\S+), n=(?P<n>\d+)\)"
    r"(?:; (?P<baseline>.+) median (?P<base>\S+) [^;]*; (?P<ratio>ratio .+))?$"
)
"""A line printed by :func:`bench.common.report`."""


def bench_names() -> list[str]:
    """Every benchmark module in bench/, by name (a new file is a new bench)."""
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in HELPERS)


@dataclass(frozen=True, slots=True)
class Figure:
    """One report line, split into the table's cells."""

    figure: str
    median: str
    spread: str
    baseline: str
    ratio: str

    @classmethod
    def parse(cls, line: str) -> Figure | None:
        """The figure a report line gives; None for any other line."""
        found = REPORT.match(line.strip())
        if found is None:
            return None
        unit = f" {found['unit']}" if found["unit"] else ""
        baseline = f"{found['baseline']} {found['base']}{unit}" if found["baseline"] else "—"
        ratio = found["ratio"].removeprefix("ratio ") if found["ratio"] else "—"
        return cls(
            found["figure"],
            f"{found['median']}{unit}",
            f"{found['min']}–{found['max']} (n={found['n']})",
            baseline,
            ratio,
        )


@dataclass(slots=True)
class Outcome:
    """What one bench printed, and whether it succeeded."""

    name: str
    seconds: float
    returncode: int
    figures: list[Figure] = field(default_factory=list)
    stderr: str = ""


def run_bench(name: str, quick: bool) -> Outcome:
    """``python -m bench.NAME`` (``--quick``); its report lines parsed."""
    argv = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])]
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=QUICK_TIMEOUT if quick else None,
            check=False,
        )
    except subprocess.TimeoutExpired as timeout:
        stderr = timeout.stderr.decode(errors="replace") if timeout.stderr else ""
        return Outcome(name, time.monotonic() - started, -1, [], f"{stderr}\ntimed out")
    figures = [f for f in map(Figure.parse, done.stdout.splitlines()) if f is not None]
    outcome = Outcome(name, time.monotonic() - started, done.returncode, figures, done.stderr)
    if outcome.returncode == 0 and not figures:  # it ran, but said nothing the table can hold
        outcome.returncode = -1
        outcome.stderr += f"\nno report line in its output:\n{done.stdout[-2000:]}"
    return outcome


def table(outcomes: list[Outcome]) -> str:
    """The markdown table of every figure, in bench order."""
    rows = ["| figure | median | min–max | baseline | ratio |", "| --- | --- | --- | --- | --- |"]
    for outcome in outcomes:
        for f in outcome.figures:
            cells = (f.figure, f.median, f.spread, f.baseline, f.ratio)
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


def main() -> int:
    """Run the benches and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="each bench's quick mode")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=bench_names())
    args = parser.parse_args()
    names = args.only or bench_names()
    outcomes = []
    for number, name in enumerate(names, 1):
        print(f"[{number}/{len(names)}] bench.{name} …", file=sys.stderr, flush=True)
        outcome = run_bench(name, args.quick)
        verdict = "ok" if outcome.returncode == 0 else f"FAILED ({outcome.returncode})"
        print(
            f"[{number}/{len(names)}] bench.{name}: {verdict}, {outcome.seconds:.0f} s, "
            f"{len(outcome.figures)} figures",
            file=sys.stderr,
            flush=True,
        )
        # Each bench's figures as soon as it ends: a long run stopped halfway still
        # leaves what it measured on the terminal.
        for f in outcome.figures:
            line = f"    {f.figure}: {f.median} ({f.spread}); {f.baseline}; {f.ratio}"
            print(line, file=sys.stderr, flush=True)
        outcomes.append(outcome)
    mode = "quick mode: figures not meaningful" if args.quick else "full runs"
    print(f"{len(names)} benches ({mode}), {sum(o.seconds for o in outcomes):.0f} s\n")
    print(table(outcomes))
    failed = [o for o in outcomes if o.returncode != 0]
    for outcome in failed:
        tail = "\n".join(outcome.stderr.strip().splitlines()[-20:])
        print(f"\nbench.{outcome.name} failed (exit {outcome.returncode}):\n{tail}")
    if failed:
        print(f"\nfailed: {', '.join(o.name for o in failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
