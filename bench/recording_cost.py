# SPDX-License-Identifier: GPL-2.0-or-later
"""Engine CPU per recorded call vs the same call unrecorded, and recording bytes per minute.

One careline engine records every queue with consent: a baresip caller sends a
440 Hz tone (G.711), the engine answers and sends 1 kHz back. The engine's CPU
(utime+stime from /proc over ``--window`` seconds) is measured while the call
talks unrecorded (consent awaited: the same call, the same audio path), then
after the agent's consent starts the recording (a bridge port, a writer thread,
AES-GCM a second at a time). The recording's size after the call, per minute of
call, is set against the raw 16-bit PCM it holds.
Run: .venv/bin/python -m bench.recording_cost [--runs 3] [--window 10]
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from pathlib import Path

from bench.common import bench_parser, columns, cpu_percent, report
from tests.baresip import Baresip
from tests.support import EngineProcess


def one_run(workdir: Path, window: float) -> tuple[float, float, float, float]:
    """(CPU % unrecorded, CPU % recorded, recording KiB per minute, raw PCM KiB per minute)."""
    config = workdir / "engine.yaml"
    config.write_text(
        "sip:\n  audio_source: tone:1000\n"
        f"recording:\n  directory: {workdir / 'recordings'}\n"
        "  queues:\n    '*':\n      mode: consent\n"
    )
    engine = EngineProcess(workdir, "--config", str(config))
    try:
        engine.wait_event("engine.ready")
        key = base64.b64encode(os.urandom(32)).decode()
        assert engine.command("recording", action="key", key=key)["ok"]
        with Baresip(workdir, user="caller", tone_hz=440) as caller:
            caller.dial(f"sip:queue@127.0.0.1:{engine.port}")
            call_id = engine.wait_event("call.incoming")["call"]["id"]
            assert engine.command("answer", call=call_id)["ok"]
            caller.wait_event("CALL_ESTABLISHED", timeout=10)
            engine.wait_event("recording", call_id=call_id, state="awaiting_consent")
            time.sleep(1.0)  # streams and jitter buffers settle
            plain = cpu_percent(engine.proc.pid, window)
            assert engine.command("recording", call=call_id, action="consent")["ok"]
            engine.wait_event("recording", call_id=call_id, state="recording")
            time.sleep(1.0)
            recorded = cpu_percent(engine.proc.pid, window)
            assert engine.command("hangup", call=call_id)["ok"]
            stopped = engine.wait_event("recording", call_id=call_id, state="stopped")
    finally:
        engine.stop()
    seconds = float(stopped["seconds"])
    size = Path(stopped["file"]).stat().st_size
    raw = seconds * int(stopped["sample_rate"]) * 2
    return plain, recorded, size / 1024 / seconds * 60, raw / 1024 / seconds * 60


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__, runs=3, window=10.0).options()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(one_run(Path(tmp), args.window))
    plain, recorded, per_minute, raw = columns(runs)
    report("engine CPU, one call recorded", "%", recorded, plain, "unrecorded")
    report("recording size per minute of call", "KiB", per_minute, raw, "raw PCM")


if __name__ == "__main__":
    main()
