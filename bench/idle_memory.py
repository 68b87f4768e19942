# SPDX-License-Identifier: GPL-2.0-or-later
"""Resident memory of the console and of the engine, idle (phone online, no call).

`careline run` in tmux with an isolated home; RSS read from /proc after the
phone is online and things settle. Baselines, same machine, same run: the
smallest Textual app (for the console) and a bare pjsua2 endpoint with one
UDP transport and the null audio device (for the engine).
Run: .venv/bin/python -m bench.idle_memory [--runs 5]
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench.common import (
    BASELINE_TEXTUAL_APP,
    bare_pjsua2,
    bench_parser,
    console_and_engine,
    isolated_home,
    processes_at_home,
    report,
    rss_mib,
)
from tests.support import free_udp_port
from tests.tmux import TmuxSession


def careline_once() -> tuple[float, float]:
    """(console MiB, engine MiB) for one idle launch."""
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{free_udp_port()}"
        session = TmuxSession([sys.executable, "-m", "console", "run"], env)
        try:
            session.wait_for("phone online", 30)
            time.sleep(3)
            console, engine = console_and_engine(env["HOME"])
            return rss_mib(console), rss_mib(engine)
        finally:
            session.keys("q")
            time.sleep(1)
            session.kill()


def textual_baseline_once() -> float:
    """MiB of the smallest Textual app, idle."""
    with isolated_home() as env:
        session = TmuxSession([sys.executable, "-c", BASELINE_TEXTUAL_APP], env)
        try:
            session.wait_for("Call queue (baseline)", 30)
            time.sleep(2)
            [pid] = processes_at_home(env["HOME"])
            return rss_mib(pid)
        finally:
            session.kill()


def pjsua2_baseline_once() -> float:
    """MiB of a bare pjsua2 endpoint, idle."""
    proc = subprocess.Popen([sys.executable, "-c", bare_pjsua2(4)])
    try:
        time.sleep(2.5)
        return rss_mib(proc.pid)
    finally:
        proc.wait(10)


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__).options()
    consoles, engines, textual, pjsua = [], [], [], []
    for _ in range(args.runs):
        console, engine = careline_once()
        consoles.append(console)
        engines.append(engine)
        textual.append(textual_baseline_once())
        pjsua.append(pjsua2_baseline_once())
    report("console RSS, idle", "MiB", consoles, textual, "minimal Textual app")
    report("engine RSS, idle", "MiB", engines, pjsua, "bare pjsua2 endpoint")


if __name__ == "__main__":
    main()
