# SPDX-License-Identifier: GPL-2.0-or-later
"""Engine memory and CPU per active call as calls are added up to the slot limit, vs baresip.

Side by side with baresip in the same run and the same call shape: the
subject (careline's engine, then a baresip instance) answers calls from
baresip callers that send a tone, and sends a tone back (G.711, 20 ms); no
call is held (the engine runs with ``--keep-calls-talking``, baresip
auto-answers), so every call carries audio both ways. Calls
are added one by one and measured at each step of ``--calls`` (default 1, 8,
16, 30: the hardened library's 32 slots less a consult and a spare), with the
earlier calls still up. Memory is VmRSS; CPU is utime+stime from /proc over a
fixed window, and also taken as what the calls add over the subject's own idle CPU.
The engine runs careline's default codec policy (G.722 first, so its
conference bridge runs at 16 kHz and resamples each G.711 call both ways);
``--codecs PCMU,PCMA`` gives it baresip's codecs here (an 8 kHz bridge, nothing
resampled, see sip.codecs.bridge_rate).
Run: .venv/bin/python -m bench.call_resources [--runs 3] [--calls 1,8,16,30] [--window 5]
     [--codecs PCMU,PCMA]
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from bench.common import bench_parser, cpu_percent, report_columns, rss_mib
from tests.baresip import Baresip
from tests.support import EngineProcess


def engine_answerer(engine: EngineProcess) -> Callable[[], None]:
    """Answers the next call ringing at ``engine``."""

    def answer() -> None:
        call_id = engine.wait_event("call.incoming")["call"]["id"]
        engine.command("answer", call=call_id)

    return answer


def baresip_answerer(peer: Baresip) -> Callable[[], None]:
    """Nothing to do: ``peer`` auto-answers (its ``accept`` would hold the other calls);
    the caller waits until the call is established."""

    def answer() -> None:
        peer.wait_event("CALL_ESTABLISHED")

    return answer


STEP_FIGURES = [
    ("RSS", "MiB"),
    ("RSS per call", "MiB"),
    ("CPU per call", "%"),
    ("CPU per call over idle", "%"),
]
"""What is measured at each number of calls (name, unit). "CPU per call" is the whole
process's CPU over the calls up; "over idle" takes the same subject's idle CPU off
first: what a call adds (the engine's idle bridge clock and poll loop cost about 0.5 %
of a core, baresip's idle nothing, and at one call that difference is most of the
first figure)."""


def one_run(
    pid: int, uri: str, answer: Callable[[], None], steps: list[int], window: float, workdir: Path
) -> list[float]:
    """Idle MiB and CPU %, then at each entry of ``steps`` the :data:`STEP_FIGURES` of the
    subject ``pid``: RSS MiB, MiB per call above idle, CPU % per call, and above idle."""
    time.sleep(3.0)  # past the start's own work
    idle = rss_mib(pid)
    idle_cpu = cpu_percent(pid, window)
    figures = [idle, idle_cpu]
    with ExitStack() as stack:
        up = 0
        for target in steps:
            while up < target:
                caller = stack.enter_context(Baresip(workdir, user=f"caller{up}", tone_hz=440))
                caller.dial(uri)
                answer()
                caller.wait_event("CALL_ESTABLISHED", timeout=10)
                up += 1
            time.sleep(1.0)  # let jitter buffers and streams settle
            cpu = cpu_percent(pid, window)
            busy = rss_mib(pid)
            figures += [busy, (busy - idle) / target, cpu / target, (cpu - idle_cpu) / target]
    return figures


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, runs=3, window=5.0, quick={"calls": "1", "window": 0.5})
    parser.add_argument("--calls", default="1,8,16,30", help="numbers of calls to measure at")
    parser.add_argument(
        "--codecs", default="", help="the engine's sip.codecs, e.g. PCMU,PCMA (default: its own)"
    )
    args = parser.options()
    steps = sorted({int(n) for n in args.calls.split(",")})
    engine_runs, baresip_runs = [], []
    slots, bridge = 0, None
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            config = workdir / "engine.yaml"
            codecs = f"  codecs: [{args.codecs}]\n" if args.codecs else ""
            config.write_text(
                f"sip:\n  audio_source: tone:1000\n  queue_capacity: {min(30, max(steps))}\n"
                + codecs
            )
            # Every call talks (answering holds nothing), as every baresip call does.
            engine = EngineProcess(workdir, "--config", str(config), "--keep-calls-talking")
            ready = engine.wait_event("engine.ready")
            slots, bridge = ready["max_calls"], ready["library"].get("bridge_clock_rate")
            if max(steps) > slots - 1:
                raise SystemExit(f"this engine's library holds {slots} calls: --calls too high")
            try:
                engine_runs.append(
                    one_run(
                        engine.proc.pid,
                        f"sip:queue@127.0.0.1:{engine.port}",
                        engine_answerer(engine),
                        steps,
                        args.window,
                        workdir,
                    )
                )
            finally:
                engine.stop()
            with Baresip(
                workdir,
                user="subject",
                tone_hz=1000,
                max_calls=max(steps) + 1,
                auto_answer=True,
            ) as subject:
                assert subject.proc is not None
                baresip_runs.append(
                    one_run(
                        subject.proc.pid,
                        subject.uri,
                        baresip_answerer(subject),
                        steps,
                        args.window,
                        workdir,
                    )
                )
    print(f"engine library: {slots} call slots, bridge at {bridge} Hz")
    figures = [("engine RSS idle", "MiB"), ("engine CPU idle", "%")]
    figures += [
        (f"engine {name} at {calls} calls", unit) for calls in steps for name, unit in STEP_FIGURES
    ]
    report_columns(figures, engine_runs, baresip_runs, "baresip")


if __name__ == "__main__":
    main()
