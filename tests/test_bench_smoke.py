"""The phone-library, records, key and call-path benchmarks still run (tiny sizes: figures
not checked here).

A benchmark nobody runs rots; these run in the suite on every change. The build
benchmark (``bench.library_build``) compiles pjproject for minutes and is left to
its own command; ``make library`` exercises the same script on every test run.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT


def run_bench(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``python -m <argv>`` from the repository; it must exit 0."""
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.parametrize(
    "argv",
    [
        ["bench.invite_burst", "--runs", "1", "--calls", "20", "--rate", "40"],
        ["bench.invite_burst", "--runs", "1", "--calls", "20", "--rate", "40", "--ring-ms", "100"],
        ["bench.call_resources", "--runs", "1", "--calls", "1", "--window", "0.5"],
        ["bench.records_campaign", "--runs", "1", "--no-fault-runs", "1", "--seed", "3"],
        ["bench.key_latency", "--runs", "1"],
    ],
    ids=["burst answered", "burst ringing", "calls per engine", "records campaign", "keys"],
)
def test_the_benchmark_runs_and_reports_ratios(argv: list[str]) -> None:
    done = run_bench(argv)
    assert "median" in done.stdout
    assert "ratio" in done.stdout
    if argv[0] == "bench.invite_burst":  # a small burst loses nothing and leaves nothing
        assert "lost: median 0.0" in done.stdout, done.stdout
        assert "ghosts: median 0.0" in done.stdout, done.stdout
    if argv[0] == "bench.records_campaign":  # a kill or a full disk loses nothing
        assert "lost 0, duplicated 0, left open 0" in done.stdout, done.stdout


def test_the_incoming_call_path_is_traced_and_never_enters_the_app() -> None:
    done = run_bench(["bench.incoming_path", "--runs", "1", "--show"])
    assert "module hops, call.incoming → ringing row painted: median" in done.stdout
    # The path goes from the desk to the call queue table, and never up to the App.
    assert "core.desk" in done.stdout
    assert "widgets.call_queue" in done.stdout
    assert "the App 0 times" in done.stdout, done.stdout
