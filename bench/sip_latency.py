# SPDX-License-Identifier: GPL-2.0-or-later
"""SIP latency on loopback: INVITE → 180 Ringing, and answer command → 200 OK.

The INVITE comes from a raw UDP caller in this process (timestamps taken
around the socket calls). careline's engine and baresip (an independent
softphone, the baseline) are measured in the same run, with the same call
shape: baresip's "answer" is its ctrl_tcp `accept` command, the engine's is
its protocol `answer` command.
Run: .venv/bin/python -m bench.sip_latency [--runs 5]
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import bench_parser, report
from tests.baresip import Baresip
from tests.rawsip import RawCaller
from tests.support import EngineProcess


def measure(
    port: int, user: str, answer: Callable[[], None], runs: int
) -> tuple[list[float], list[float]]:
    """(INVITE→180 ms, answer→200 ms) for ``runs`` calls to ``user`` at ``port``."""
    ringing: list[float] = []
    answering: list[float] = []
    caller = RawCaller(port, user)
    try:
        for _ in range(runs):
            sent = time.perf_counter()
            dialog = caller.invite()
            caller.wait_status(dialog, 180)
            ringing.append((time.perf_counter() - sent) * 1000)
            time.sleep(0.1)
            start = time.perf_counter()
            answer()
            ok = caller.wait_status(dialog, 200)
            answering.append((time.perf_counter() - start) * 1000)
            caller.ack(dialog, ok)
            caller.bye(dialog)
            time.sleep(0.2)
    finally:
        caller.close()
    return ringing, answering


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__).options()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        engine = EngineProcess(workdir)
        engine.wait_event("engine.ready")

        def engine_answer() -> None:
            call_id = engine.wait_event("call.incoming")["call"]["id"]
            engine.command("answer", call=call_id)

        try:
            e_ring, e_answer = measure(engine.port, "queue", engine_answer, args.runs)
        finally:
            engine.stop()
        with Baresip(workdir, user="baseline", tone_hz=None) as peer:

            def baresip_answer() -> None:
                peer.wait_event("CALL_INCOMING")
                peer.accept()

            b_ring, b_answer = measure(peer.sip_port, "baseline", baresip_answer, args.runs)
    report("INVITE to 180 Ringing, careline engine", "ms", e_ring, b_ring, "baresip")
    report("answer command to 200 OK, careline engine", "ms", e_answer, b_answer, "baresip")


if __name__ == "__main__":
    main()
