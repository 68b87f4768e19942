# SPDX-License-Identifier: GPL-2.0-or-later
"""Every benchmark still runs: ``python -m bench.NAME --quick`` for each bench in bench/.

A benchmark nobody runs rots; each runs here in its quick mode (one short run,
small sizes: figures not checked) on every change, found from the bench/
folder, so a new bench is covered the day it lands. Where a quick run also
proves something a user would notice (a small burst loses no call, a killed
console loses no record, the incoming path never climbs to the App), that
is checked too.

No quick run is marked realtime, not even the benches that time audio or read CPU
against the clock: their figures are not checked here, so they run beside the other
tests. Their full runs (``make bench``) want the machine to themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.all import Figure, bench_names
from tests.support import ROOT

EXTRA_ARGS = {"incoming_path": ["--show"]}
"""Options a bench's checks below need besides ``--quick``."""

USER_CACHE = Path.home() / ".cache"
"""The user's cache, read when the module loads (each test then gets its own HOME)."""
BENCH_ENV = {
    "library_build": {
        # The hardened wheel make library built (the quick run installs it, builds nothing),
        # and pip's downloads (the PyPI wheel it is timed against).
        "CARELINE_CACHE": os.environ.get("CARELINE_CACHE") or str(USER_CACHE / "careline"),
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR") or str(USER_CACHE / "pip"),
    }
}
"""Environment a bench needs besides the test's own."""

VARIANTS = [("invite_burst", ["--ring-ms", "100"], "invite_burst ringing")]
"""Further quick runs with options: the burst nobody answers."""


CASES = [pytest.param(n, EXTRA_ARGS.get(n, []), id=n) for n in bench_names()]
CASES += [pytest.param(name, args, id=case_id) for name, args, case_id in VARIANTS]


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("name", "args"), CASES)
def test_the_benchmark_runs_in_quick_mode_and_reports(name: str, args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--quick", *args],
        cwd=ROOT,
        env={**os.environ, **BENCH_ENV.get(name, {})},
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    figures = [f for f in map(Figure.parse, out.splitlines()) if f is not None]
    assert figures, f"no report line (what `python -m bench.all` tabulates):\n{out}"
    if name == "invite_burst":  # a small burst loses nothing and leaves nothing
        assert "lost: median 0.0" in out, out
        assert "ghosts: median 0.0" in out, out
    if name == "records_campaign":  # a kill or a full disk loses nothing
        assert "lost 0, duplicated 0, left open 0" in out, out
    if name == "ehr_sync":  # the sync read every seeded resource, as the bare loop did
        assert "patients sync throughput" in out, out
        assert "bare paged GET loop" in out, out
    if name == "incoming_path":  # from the desk to the call queue table, never up to the App
        assert "core.desk" in out, out
        assert "widgets.call_queue" in out, out
        assert "the App 0 times" in out, out


def test_the_table_reads_report_lines_with_and_without_a_baseline() -> None:
    with_baseline = Figure.parse(
        "launch: median 1409.0 ms (min 1380.5, max 1450.0, n=5); "
        "minimal Textual app median 296.0 ms; ratio 4.76x"
    )
    assert with_baseline == Figure(
        "launch", "1409.0 ms", "1380.5–1450.0 (n=5)", "minimal Textual app 296.0 ms", "4.76x"
    )
    no_unit = Figure.parse("sipp failed: median 0.0  (min 0.0, max 0.0, n=1)")
    assert no_unit == Figure("sipp failed", "0.0", "0.0–0.0 (n=1)", "—", "—")
    assert Figure.parse("records: 2 answered calls over 2 runs") is None
