# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine stays light: it learns its call slots without placing calls, and with a call
up its loop sleeps until RTP, SIP or a command needs it (issue 17).

Real engines and a real baresip caller sending a tone (G.711, 20 ms frames).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from tests.baresip import Baresip
from tests.engine_calls import engine_with
from tests.support import EngineProcess


def main_thread_wakeups(pid: int) -> int:
    """How often the engine's main thread (the one that owns pjsua2) has gone to sleep."""
    for line in Path(f"/proc/{pid}/task/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError(f"no context switches for {pid}")


def test_the_engine_learns_its_call_slots_without_placing_calls(tmp_path: Path) -> None:
    """Placing 32 calls to itself at start left about 5 MiB in every idle engine."""
    with engine_with(tmp_path, "sip:\n  log_level: 4\n  log_sip_messages: true\n") as engine:
        status = engine.command("status")["result"]
        log = engine.log_path.read_text()
    assert (status["max_calls"], status["capacity_measured"]) == (32, True)
    assert status["library"]["call_slots"] == 32
    assert "REGISTER" not in log  # no account: the only SIP an idle engine could send…
    assert "INVITE sip:" not in log  # …is a call, and it placed none


def talking_call(engine: EngineProcess, caller: Baresip) -> None:
    caller.dial(f"sip:queue@127.0.0.1:{engine.port}")
    call_id = engine.wait_event("call.incoming")["call"]["id"]
    assert engine.command("answer", call=call_id)["ok"]
    caller.wait_event("CALL_ESTABLISHED", timeout=10)
    engine.wait_event("call.state", call_id=call_id, state="active")


def test_with_a_call_up_the_loop_sleeps_until_needed_and_commands_run_at_once(
    tmp_path: Path,
) -> None:
    """Polling every 5 ms for commands while a call was up cost more CPU than baresip
    spends on the whole call; a command still has to run at once (the agent's keys)."""
    config = "sip:\n  audio_source: tone:1000\n"
    with (
        engine_with(tmp_path, config, "--keep-calls-talking") as engine,
        Baresip(tmp_path, user="caller", tone_hz=440) as caller,
    ):
        talking_call(engine, caller)
        time.sleep(1.0)
        before, start = main_thread_wakeups(engine.proc.pid), time.monotonic()
        time.sleep(2.0)
        per_second = (main_thread_wakeups(engine.proc.pid) - before) / (time.monotonic() - start)
        round_trips = []
        for _ in range(20):
            sent = time.monotonic()
            assert engine.command("status")["ok"]
            round_trips.append(time.monotonic() - sent)
            time.sleep(0.013)  # land anywhere between two RTP packets
    # 50 RTP packets a second wake it (and a few RTCP and timers); a 5 ms poll was 250.
    assert per_second < 120, f"{per_second:.0f} wake-ups a second"
    # Not left waiting for the next packet (up to 20 ms) or the loop's longest wait (50 ms).
    assert statistics.median(round_trips) < 0.006, round_trips
