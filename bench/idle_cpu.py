"""Console CPU while idle with one call on hold (must be near zero: no busy redraws).

The console runs in tmux; a baresip softphone calls it, the agent answers
and holds with keys, and the console process's CPU time is read from /proc
over a window. Baseline, same run: the same console idle with no call.
Run: .venv/bin/python -m bench.idle_cpu [--runs 5] [--window 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.common import cpu_seconds, isolated_home, report
from bench.idle_memory import pids_with
from tests.baresip import Baresip
from tests.support import free_udp_port
from tests.tmux import TmuxSession


def cpu_percent(pid: int, window: float) -> float:
    """CPU use of ``pid`` over ``window`` seconds, in percent of one core."""
    before = cpu_seconds(pid)
    time.sleep(window)
    return (cpu_seconds(pid) - before) / window * 100


def one_run(window: float) -> tuple[float, float]:
    """(idle %, one call on hold %) for one console."""
    port = free_udp_port()
    with isolated_home() as env, tempfile.TemporaryDirectory() as tmp:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{port}"
        env["CARELINE_UI__BELL"] = "false"
        session = TmuxSession([sys.executable, "-m", "console", "run"], env)
        try:
            session.wait_for("phone online", 30)
            [pid] = list(pids_with("-m console run"))
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
        finally:
            session.keys("q")
            time.sleep(1)
            session.kill()


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    runs = [one_run(args.window) for _ in range(args.runs)]
    report(
        "console CPU, one call on hold",
        "%",
        [r[1] for r in runs],
        [r[0] for r in runs],
        "the same console idle, no call",
    )


if __name__ == "__main__":
    main()
