# SPDX-License-Identifier: GPL-2.0-or-later
"""INVITE received by the engine → ringing call visible in the console.

The INVITE is sent from this process over UDP at a known instant to the real
console running in tmux (engine process behind it); the time is taken when
"ringing" is on the terminal screen (capture-pane polled continuously, a few
ms of granularity). Baseline: the same INVITE against a bare protocol client
(the engine's own stdout events, no UI) in the same run.
Run: .venv/bin/python -m bench.invite_to_ringing [--runs 5]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.common import bench_parser, isolated_home, report
from tests.rawsip import RawCaller
from tests.support import EngineProcess, free_udp_port
from tests.tmux import TmuxSession


def baseline_runs(runs: int, workdir: Path) -> list[float]:
    """INVITE → `call.incoming` read by a bare client, in ms."""
    engine = EngineProcess(workdir)
    engine.wait_event("engine.ready")
    caller = RawCaller(engine.port)
    times = []
    try:
        for _ in range(runs):
            sent = time.perf_counter()
            dialog = caller.invite()
            incoming = engine.wait_event("call.incoming")
            times.append((time.perf_counter() - sent) * 1000)
            engine.command("reject", call=incoming["call"]["id"], code=486)
            caller.ack(dialog, caller.final_response(dialog))
    finally:
        caller.close()
        engine.stop()
    return times


def console_runs(runs: int) -> list[float]:
    """INVITE → ringing row on a real terminal (the console in tmux), in ms."""
    port = free_udp_port()
    times = []
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{port}"
        env["CARELINE_UI__BELL"] = "false"
        session = TmuxSession([sys.executable, "-m", "console", "run"], env)
        caller = RawCaller(port)
        try:
            session.wait_for("phone online", 30)
            for _ in range(runs):
                sent = time.perf_counter()
                dialog = caller.invite()
                while "ringing" not in session.screen():
                    if time.perf_counter() - sent > 10:
                        raise RuntimeError("the call never showed as ringing")
                times.append((time.perf_counter() - sent) * 1000)
                session.keys("d")  # decline it, as an agent would
                caller.ack(dialog, caller.final_response(dialog))
                while "ringing" in session.screen():
                    time.sleep(0.01)
                time.sleep(0.3)
        finally:
            caller.close()
            session.keys("q")
            time.sleep(1)
            session.kill()
    return times


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__).options()
    with tempfile.TemporaryDirectory() as tmp:
        baseline = baseline_runs(args.runs, Path(tmp))
    console = console_runs(args.runs)
    report(
        "INVITE to ringing call on the console",
        "ms",
        console,
        baseline,
        "INVITE to call.incoming at a bare protocol client",
    )


if __name__ == "__main__":
    main()
