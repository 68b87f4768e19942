# SPDX-License-Identifier: GPL-2.0-or-later
"""Console CPU while idle with one call on hold (must be near zero: no busy redraws), and
the engine's CPU while idle.

The console runs in tmux; a baresip softphone calls it, the agent answers
and holds with keys, and the console process's CPU time is read from /proc
over a window. Baseline, same run: the same console idle with no call.
Over that idle window the engine's CPU is read too, against a bare pjsua2
endpoint polled every 10 ms (what the library's own event loop costs idle).
Run: .venv/bin/python -m bench.idle_cpu [--runs 5] [--window 10]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    bare_pjsua2,
    bench_parser,
    columns,
    console_and_engine,
    cpu_percent,
    cpu_percents,
    isolated_home,
    report,
    tmux_console,
)
from tests.baresip import Baresip
from tests.support import free_udp_port


def one_run(window: float) -> tuple[float, float, float, float]:
    """(console idle %, console with one call on hold %, engine idle %, bare pjsua2 idle %)."""
    port = free_udp_port()
    with isolated_home() as env, tempfile.TemporaryDirectory() as tmp:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{port}"
        env["CARELINE_UI__BELL"] = "false"
        with tmux_console([sys.executable, "-m", "console", "run"], env) as session:
            session.wait_for("phone online", 30)
            pid, engine = console_and_engine(env["HOME"])
            time.sleep(2)
            idle, engine_idle = cpu_percents([pid, engine], window)
            with Baresip(Path(tmp), user="patient", tone_hz=440) as peer:
                peer.dial(f"sip:queue@127.0.0.1:{port}")
                session.wait_for("ringing", 10)
                session.keys("a")
                session.wait_for("● talking", 10)
                session.keys("o")
                session.wait_for("on hold", 10)
                time.sleep(2)
                held = cpu_percent(pid, window)
                session.keys("h")
    bare = subprocess.Popen([sys.executable, "-c", bare_pjsua2(window + 4)])
    try:
        time.sleep(2)
        bare_idle = cpu_percent(bare.pid, window)
    finally:
        bare.wait(window + 10)
    return idle, held, engine_idle, bare_idle


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__, window=10.0).options()
    idle, held, engine, bare = columns(one_run(args.window) for _ in range(args.runs))
    report("console CPU, one call on hold", "%", held, idle, "the same console idle, no call")
    report("engine CPU, idle", "%", engine, bare, "bare pjsua2 endpoint")


if __name__ == "__main__":
    main()
