"""Engine memory idle and per active call, and CPU per active call (G.711, 20 ms).

Side by side with baresip in the same run and the same call shape: the
subject (careline's engine, then a baresip instance) answers calls from
baresip callers that send a tone, and sends a tone back. Memory is VmRSS;
CPU is utime+stime from /proc over a fixed window with the calls up.
Run: .venv/bin/python -m bench.call_resources [--runs 5] [--calls 2] [--window 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from bench.common import cpu_seconds, report, rss_mib
from tests.baresip import Baresip
from tests.support import EngineProcess


def engine_answerer(engine: EngineProcess) -> Callable[[], None]:
    """Answers the next call ringing at ``engine``."""

    def answer() -> None:
        call_id = engine.wait_event("call.incoming")["call"]["id"]
        engine.command("answer", call=call_id)

    return answer


def baresip_answerer(peer: Baresip) -> Callable[[], None]:
    """Accepts the next call ringing at ``peer``."""

    def answer() -> None:
        peer.wait_event("CALL_INCOMING")
        peer.accept()

    return answer


def one_run(
    pid: int, uri: str, answer: Callable[[], None], calls: int, window: float, workdir: Path
) -> tuple[float, float, float]:
    """(idle MiB, MiB per call, CPU % per call) for the subject process ``pid``."""
    time.sleep(1.0)
    idle = rss_mib(pid)
    with ExitStack() as stack:
        for index in range(calls):
            caller = stack.enter_context(Baresip(workdir, user=f"caller{index}", tone_hz=440))
            caller.dial(uri)
            answer()
            caller.wait_event("CALL_ESTABLISHED", timeout=10)
        time.sleep(1.0)  # let jitter buffers and streams settle
        before = cpu_seconds(pid)
        time.sleep(window)
        cpu = (cpu_seconds(pid) - before) / window * 100
        busy = rss_mib(pid)
    return idle, (busy - idle) / calls, cpu / calls


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--window", type=float, default=5.0)
    args = parser.parse_args()
    engine_runs, baresip_runs = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            config = workdir / "engine.yaml"
            config.write_text("sip:\n  audio_source: tone:1000\n")
            engine = EngineProcess(workdir, "--config", str(config))
            engine.wait_event("engine.ready")
            try:
                engine_runs.append(
                    one_run(
                        engine.proc.pid,
                        f"sip:queue@127.0.0.1:{engine.port}",
                        engine_answerer(engine),
                        args.calls,
                        args.window,
                        workdir,
                    )
                )
            finally:
                engine.stop()
            with Baresip(workdir, user="subject", tone_hz=1000) as subject:
                assert subject.proc is not None
                baresip_runs.append(
                    one_run(
                        subject.proc.pid,
                        subject.uri,
                        baresip_answerer(subject),
                        args.calls,
                        args.window,
                        workdir,
                    )
                )
    for index, (name, unit) in enumerate(
        [("RSS idle", "MiB"), ("RSS per active call", "MiB"), ("CPU per active call", "%")]
    ):
        report(
            f"engine {name}",
            unit,
            [r[index] for r in engine_runs],
            [r[index] for r in baresip_runs],
            "baresip",
        )


if __name__ == "__main__":
    main()
