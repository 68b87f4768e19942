# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's memory over a shift's calls: what each hundred calls leave behind.

`careline run` in tmux with an isolated home (the engine answers every call,
``sip.auto_answer: 200``; wrap-up off), and SIPp sends ``--calls`` calls,
``--concurrent`` at a time; each caller hangs up within half a second of the
answer (the engine holds the call before it to answer the next). Every
call rings, is answered, ends and goes to the history, as on an agent's desk,
and the footer's keys change with it. The console's RSS is read after a
warm-up of ``--warmup`` calls (caches filled, every code path loaded: the
baseline, same console, same run) and after all of them. A console that lets
go of what a finished call used grows by nothing; the growth per hundred calls
is the figure a shift multiplies.
Run: .venv/bin/python -m bench.shift_memory [--runs 3] [--calls 200] [--warmup 40]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.common import bench_parser, console_and_engine, isolated_home, report, rss_mib
from tests.support import Sipp, free_udp_port
from tests.tmux import TmuxSession

SETTLE_S = 3.0
"""Seconds after the last call ends before RSS is read (the history written, timers idle)."""


def calls(port: int, workdir: Path, count: int, concurrent: int) -> None:
    """``count`` answered calls at the console's engine, ``concurrent`` at a time."""
    sipp = Sipp(
        workdir,
        "uac_burst_call.xml",
        port,
        callers=[("Shift Caller", f"+1202555{n:04d}") for n in range(100)],
        calls=count,
        concurrent=concurrent,
        rate=float(concurrent),
        timeout=count * 3.0 + 30,
    )
    if sipp.wait(count * 3.0 + 60) != 0:
        raise RuntimeError(f"SIPp failed:\n{sipp.report()}")


def shift_once(total: int, warmup: int, concurrent: int) -> tuple[float, float]:
    """(RSS MiB after the warm-up calls, after all calls) of one console."""
    port = free_udp_port()
    with isolated_home() as env, tempfile.TemporaryDirectory() as work:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{port}"
        env["CARELINE_SIP__AUTO_ANSWER"] = "200"
        env["CARELINE_WRAP_UP__MODE"] = "off"
        session = TmuxSession([sys.executable, "-m", "console", "run"], env)
        try:
            session.wait_for("phone online", 30)
            console, _engine = console_and_engine(env["HOME"])
            calls(port, Path(work), warmup, concurrent)
            time.sleep(SETTLE_S)
            warm = rss_mib(console)
            calls(port, Path(work), total - warmup, concurrent)
            time.sleep(SETTLE_S)
            return warm, rss_mib(console)
        finally:
            session.keys("q")
            time.sleep(1)
            session.kill()  # by its tmux server: a console still asking to quit goes too


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, runs=3, quick={"calls": 12, "warmup": 4})
    parser.add_argument("--calls", type=int, default=200, help="calls in all (default 200)")
    parser.add_argument("--warmup", type=int, default=40, help="calls before the baseline")
    parser.add_argument("--concurrent", type=int, default=4, help="calls at once (default 4)")
    args = parser.options()
    if not 0 < args.warmup < args.calls:
        parser.error("--warmup must be at least 1 and fewer than --calls")
    warm, done = [], []
    for _ in range(args.runs):
        before, after = shift_once(args.calls, args.warmup, args.concurrent)
        warm.append(before)
        done.append(after)
    measured = args.calls - args.warmup
    report(f"console RSS after {args.calls} calls", "MiB", done, warm, f"after {args.warmup} calls")
    growth = [(after - before) * 100 / measured for before, after in zip(warm, done, strict=True)]
    report(f"console RSS growth per 100 calls, over {measured} calls", "MiB", growth)


if __name__ == "__main__":
    main()
