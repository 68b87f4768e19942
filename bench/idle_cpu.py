# SPDX-License-Identifier: GPL-2.0-or-later
"""Console CPU while idle with one call on hold (must be near zero: no busy redraws), and
the engine's CPU while idle.

The console runs in tmux; a baresip softphone calls it, the agent answers
and holds with keys, and the console process's CPU time is read from /proc
over a window. Baseline, same run: the same console idle with no call.
Over that idle window the engine's CPU is read too, against a bare pjsua2
endpoint polled every 10 ms (what the library's own event loop costs idle).

CPU time is the scheduler's on-CPU nanoseconds of each thread
(/proc/PID/task/TID/schedstat), not /proc/PID/stat's 10 ms clock ticks: over a
10 s window a tick is 0.1 point, as big as the changes this bench is for. The
console's figures are also given per thread, in milliseconds of CPU a second
(10 ms/s = 1 %): its main thread (Textual's event loop, the screen's rendering)
and the others (Textual's input thread, workers) together.
Run: .venv/bin/python -m bench.idle_cpu [--runs 5] [--window 10]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import (
    bare_pjsua2,
    bench_parser,
    columns,
    console_and_engine,
    isolated_home,
    report,
    tmux_console,
)
from tests.baresip import Baresip
from tests.support import free_udp_port

TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu_ns(pid: int) -> dict[int, int]:
    """On-CPU nanoseconds so far of each live thread of ``pid``, by thread id.

    Without schedstat (a kernel without CONFIG_SCHED_INFO) each thread's utime +
    stime, in clock ticks, is used instead.
    """
    times: dict[int, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            times[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except FileNotFoundError:  # the thread ended, or no schedstat
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            times[int(task.name)] = (int(fields[11]) + int(fields[12])) * 1_000_000_000 // TICKS
    return times


def thread_shares(pids: Sequence[int], window: float) -> list[tuple[float, float]]:
    """(main thread, other threads) CPU of each of ``pids`` over the same next ``window``
    seconds, in milliseconds of CPU a second. A thread started in the window counts from
    zero; one that ended in it is not counted (an idle console starts and ends none)."""
    before = [thread_cpu_ns(pid) for pid in pids]
    start = time.monotonic()
    time.sleep(window)
    after = [thread_cpu_ns(pid) for pid in pids]
    elapsed = time.monotonic() - start
    shares = []
    for pid, old, new in zip(pids, before, after, strict=True):
        used = {tid: ns - old.get(tid, 0) for tid, ns in new.items()}
        main = used.pop(pid, 0)
        shares.append((main / elapsed / 1e6, sum(used.values()) / elapsed / 1e6))
    return shares


def one_run(window: float) -> tuple[float, ...]:
    """Console idle and with one call on hold, each (total %, main ms/s, others ms/s);
    engine idle %, bare pjsua2 idle %."""
    port = free_udp_port()
    with isolated_home() as env, tempfile.TemporaryDirectory() as tmp:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{port}"
        env["CARELINE_UI__BELL"] = "false"
        with tmux_console([sys.executable, "-m", "console", "run"], env) as session:
            session.wait_for("phone online", 30)
            pid, engine = console_and_engine(env["HOME"])
            time.sleep(2)
            idle, engine_idle = thread_shares([pid, engine], window)
            with Baresip(Path(tmp), user="patient", tone_hz=440) as peer:
                peer.dial(f"sip:queue@127.0.0.1:{port}")
                session.wait_for("ringing", 10)
                session.keys("a")
                session.wait_for("● talking", 10)
                session.keys("o")
                session.wait_for("on hold", 10)
                time.sleep(2)
                (held,) = thread_shares([pid], window)
                session.keys("h")
    bare = subprocess.Popen([sys.executable, "-c", bare_pjsua2(window + 4)])
    try:
        time.sleep(2)
        (bare_idle,) = thread_shares([bare.pid], window)
    finally:
        bare.wait(window + 10)
    return (
        sum(held) / 10,
        *held,
        sum(idle) / 10,
        *idle,
        sum(engine_idle) / 10,
        sum(bare_idle) / 10,
    )


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__, window=10.0).options()
    held, held_main, held_other, idle, idle_main, idle_other, engine, bare = columns(
        one_run(args.window) for _ in range(args.runs)
    )
    report("console CPU, one call on hold", "%", held, idle, "the same console idle, no call")
    report("engine CPU, idle", "%", engine, bare, "bare pjsua2 endpoint")
    total = [m + o for m, o in zip(held_main, held_other, strict=True)]
    total_idle = [m + o for m, o in zip(idle_main, idle_other, strict=True)]
    report("console CPU on hold, all threads", "ms/s", total, total_idle, "idle")
    report("console CPU on hold, main thread", "ms/s", held_main, idle_main, "idle")
    report("console CPU on hold, other threads", "ms/s", held_other, idle_other, "idle")


if __name__ == "__main__":
    main()
