"""Console CPU while idle with one call on hold (must be near zero: no busy redraws).

The console runs in tmux; a baresip softphone calls it, the agent answers
and holds with keys, and the console process's CPU time is read from /proc
over a window. Baseline, same run: the same console idle with no call.
Run: .venv/bin/python -m bench.idle_cpu [--runs 5] [--window 10]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    bench_parser,
    columns,
    console_and_engine,
    cpu_percent,
    isolated_home,
    report,
    tmux_console,
)
from tests.baresip import Baresip
from tests.support import free_udp_port


def one_run(window: float) -> tuple[float, float]:
    """(idle %, one call on hold %) for one console."""
    port = free_udp_port()
    with isolated_home() as env, tempfile.TemporaryDirectory() as tmp:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{port}"
        env["CARELINE_UI__BELL"] = "false"
        with tmux_console([sys.executable, "-m", "console", "run"], env) as session:
            session.wait_for("phone online", 30)
            pid, _ = console_and_engine(env["HOME"])
            time.sleep(2)
            idle = cpu_percent(pid, window)
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
            return idle, held


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__, window=10.0).options()
    idle, held = columns(one_run(args.window) for _ in range(args.runs))
    report("console CPU, one call on hold", "%", held, idle, "the same console idle, no call")


if __name__ == "__main__":
    main()
