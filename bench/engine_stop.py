# SPDX-License-Identifier: GPL-2.0-or-later
"""How long an idle engine takes to stop, and `careline doctor` end to end.

Engine stop: `careline engine` (stdio mode, no call, no registration) is sent
SIGTERM once ready; timed until its process has exited. Its baseline is pjsua's own
``libDestroy()`` with the default flags on a bare endpoint (one UDP transport),
timed inside that process: the library waits a second there for answers to what
it sent last, whether or not it sent anything (``sip.library.destroy_endpoint``).

Doctor: `careline doctor --json` in a fresh home (default configuration, no engine
running: its library and codec checks each start and destroy a probe endpoint),
against `careline --help` (the same interpreter and CLI, no checks).
Run: .venv/bin/python -m bench.engine_stop [--runs 5]
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import bare_pjsua2, bench_parser, isolated_home, report
from tests.support import EngineProcess


def engine_stop_ms() -> float:
    """SIGTERM to an idle engine → its exit, in milliseconds (it must exit 0)."""
    with tempfile.TemporaryDirectory(prefix="careline-bench-") as tmp:
        engine = EngineProcess(Path(tmp))
        try:
            engine.wait_event("engine.ready", timeout=30)
            start = time.perf_counter()
            engine.proc.send_signal(signal.SIGTERM)
            code = engine.proc.wait(30)
            elapsed = (time.perf_counter() - start) * 1000
        finally:
            engine.stop()
        if code != 0:
            raise RuntimeError(f"the engine exited {code}: {engine.log_tail()}")
        return elapsed


def bare_destroy_ms() -> float:
    """Milliseconds of a bare endpoint's default ``libDestroy()``."""
    done = subprocess.run(
        [sys.executable, "-c", bare_pjsua2(0, time_destroy=True)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the bare endpoint failed: {done.stderr.strip()[-300:]}")
    return float(done.stdout.split()[-1])


def careline_ms(*args: str) -> float:
    """Milliseconds of ``careline ARGS`` in a fresh home (it must exit 0)."""
    with isolated_home() as env:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "console", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        elapsed = (time.perf_counter() - start) * 1000
    if args[0] == "doctor" and done.returncode not in (0, 1):
        # 1: a check failed (this machine has no sound device for the headset default).
        raise RuntimeError(f"careline {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return elapsed


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__).options()
    stops = [engine_stop_ms() for _ in range(args.runs)]
    bare = [bare_destroy_ms() for _ in range(args.runs)]
    report("idle engine stop (SIGTERM to exit)", "ms", stops, bare, "bare pjsua2 libDestroy()")
    doctor = [careline_ms("doctor", "--json") for _ in range(args.runs)]
    helps = [careline_ms("--help") for _ in range(args.runs)]
    report("careline doctor, fresh home", "ms", doctor, helps, "careline --help")


if __name__ == "__main__":
    main()
