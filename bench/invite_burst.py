# SPDX-License-Identifier: GPL-2.0-or-later
"""A burst of INVITEs at one engine: answered / turned away / lost, and the next call after it.

SIPp sends ``--calls`` INVITEs at ``--rate`` a second; the engine answers each
(``sip.auto_answer: 200``, a queue of ``--queue``; each answer holds the call
before it) and the caller hangs up within 500 ms, so calls end while new ones
take their library slots. Counted
from the engine's own events: answered (``call.state active``), turned away
(``call.turned_away``: queue full or library full), and lost (neither, or a
record left behind). With ``--ring-ms N`` nobody answers: each caller rings
for N ms and cancels, so the queue fills and callers are turned away. Then a
normal call: INVITE → answered, against the same probe on the same engine
before the burst (the baseline).
Run: .venv/bin/python -m bench.invite_burst [--runs 3] [--calls 500] [--rate 50] [--ring-ms 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import bench_parser, report
from tests.support import EngineProcess, Sipp


def probe_ms(engine: EngineProcess, workdir: Path, name: str, service: str) -> float:
    """One normal call: ms from SIPp's start to the engine having answered it."""
    started = time.monotonic()
    sipp = Sipp(
        workdir,
        "uac_caller_hangs_up.xml",
        engine.port,
        callers=[(name, "+15550100")],
        service=service,
    )
    while True:
        call = engine.wait_event("call.incoming", timeout=10)["call"]
        if call["caller"]["display_name"] == name:
            break
    engine.wait_event("call.state", timeout=10, call_id=call["id"], state="active")
    answered = (time.monotonic() - started) * 1000
    assert sipp.wait() == 0, sipp.report()
    return answered


def one_run(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    """Figures of one burst against a fresh engine."""
    config = workdir / "burst.yaml"
    config.write_text(f"sip:\n  auto_answer: 200\n  queue_capacity: {args.queue}\n")
    ringing = args.ring_ms is not None
    if ringing:  # callers ring and give up; the probes are answered by auto-in queue
        config.write_text(f"sip:\n  auto_answer_queues: [probe]\n  queue_capacity: {args.queue}\n")
    engine = EngineProcess(workdir, "--config", str(config))
    try:
        ready = engine.wait_event("engine.ready")
        before = probe_ms(engine, workdir, "Before", service="probe" if ringing else "queue")
        engine.events.clear()
        burst = Sipp(
            workdir,
            "uac_cancel_after_pause.xml" if ringing else "uac_burst_call.xml",
            engine.port,
            calls=args.calls,
            concurrent=args.calls,
            rate=args.rate,
            timeout=args.calls / args.rate + 60,
            extra=("-d", str(args.ring_ms)) if ringing else (),
        )
        code = burst.wait(args.calls / args.rate + 90)
        alive = engine.proc.poll() is None
        if not alive:
            raise SystemExit(f"the engine died in the burst (exit {engine.proc.returncode})")
        # Every caller is done: whatever the engine still lists is a ghost.
        deadline = time.monotonic() + 5
        while (status := engine.command("status")["result"])["calls"] and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)
        engine.forget("none")  # read every event still waiting
        answered = sum(1 for e in engine.events if e.get("state") == "active")
        cancelled = sum(
            1
            for e in engine.events
            if e["event"] == "call.ended" and e.get("reason") == "cancelled"
        )
        turned_away = sum(1 for e in engine.events if e["event"] == "call.turned_away")
        refused_after_ring = sum(
            1
            for e in engine.events
            if e["event"] == "call.ended" and e.get("reason") in ("failed", "rejected")
        )
        engine.events.clear()
        after = probe_ms(engine, workdir, "After", service="probe" if ringing else "queue")
        return {
            "answered": answered,
            "rang_then_cancelled": cancelled,
            "turned_away": turned_away + refused_after_ring,
            "lost": args.calls - answered - cancelled - turned_away - refused_after_ring,
            "ghosts": len(status["calls"]),
            "sipp_failed": float(code != 0),
            "before_ms": before,
            "after_ms": after,
            "slots": ready["max_calls"],
        }
    finally:
        assert engine.stop() == 0, engine.log_tail()


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, runs=3, quick={"calls": 20, "rate": 40.0})
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0, help="INVITEs a second")
    parser.add_argument("--queue", type=int, default=30, help="sip.queue_capacity")
    parser.add_argument(
        "--ring-ms", type=int, default=None, help="nobody answers: callers cancel after N ms"
    )
    args = parser.options()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(one_run(args, Path(tmp)))
    print(
        f"{args.calls} INVITEs at {args.rate:g}/s, queue {args.queue}, "
        + (f"ringing {args.ring_ms} ms then cancelled, " if args.ring_ms is not None else "")
        + f"{runs[0]['slots']:.0f} library slots:"
    )
    for name in ("answered", "rang_then_cancelled", "turned_away", "lost", "ghosts", "sipp_failed"):
        report(
            name.replace("_", " "),
            "calls" if name != "sipp_failed" else "",
            [r[name] for r in runs],
        )
    report(
        "next call INVITE → answered after the burst",
        "ms",
        [r["after_ms"] for r in runs],
        [r["before_ms"] for r in runs],
        "same probe before the burst",
    )


if __name__ == "__main__":
    main()
