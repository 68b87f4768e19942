# SPDX-License-Identifier: GPL-2.0-or-later
"""The phone engine against SIPp on 127.0.0.1, driven through `careline engine`."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

from tests.engine_calls import engine_from
from tests.rawsip import RawCaller
from tests.support import EngineProcess, Sipp


def test_incoming_call_reported_answered_and_caller_hangs_up(
    engine: EngineProcess, tmp_path: Path
) -> None:
    sipp = Sipp(
        tmp_path, "uac_caller_hangs_up.xml", engine.port, callers=[("Maria Lopez", "+15550142")]
    )
    incoming = engine.wait_event("call.incoming")
    call = incoming["call"]
    assert call["caller"] == {
        "display_name": "Maria Lopez",
        "number": "+15550142",
        "uri": f"sip:+15550142@127.0.0.1:{sipp.port}",
    }
    assert call["called_uri"] == f"sip:queue@127.0.0.1:{engine.port}"
    assert call["state"] == "ringing"
    assert call["received_at"].endswith("Z")

    reply = engine.command("answer", call=call["id"])
    assert reply["ok"], reply
    engine.wait_event("call.state", call_id=call["id"], state="active")
    ended = engine.wait_event("call.ended", call_id=call["id"])
    assert (ended["reason"], ended["ended_by"]) == ("completed", "caller")
    timeline = ended["call"]["timeline"]
    assert [fact["fact"] for fact in timeline] == ["ring", "codec", "answer", "end"]
    # SIPp offers G.711 only: the stream runs PCMU, and the call says so.
    assert (timeline[1]["name"], timeline[1]["clock_rate"]) == ("PCMU", 8000)
    assert ended["call"]["codec"]["name"] == "PCMU"
    assert sipp.wait() == 0, sipp.report()


def test_agent_hangs_up(engine: EngineProcess, tmp_path: Path) -> None:
    sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", engine.port)
    call_id = engine.wait_event("call.incoming")["call"]["id"]
    assert engine.command("answer", call=call_id)["ok"]
    engine.wait_event("call.state", call_id=call_id, state="active")
    assert engine.command("hangup", call=call_id)["ok"]
    ended = engine.wait_event("call.ended", call_id=call_id)
    assert (ended["reason"], ended["ended_by"]) == ("completed", "agent")
    assert sipp.wait() == 0, sipp.report()


def test_agent_rejects_with_486(engine: EngineProcess, tmp_path: Path) -> None:
    sipp = Sipp(tmp_path, "uac_expect_busy.xml", engine.port)
    call_id = engine.wait_event("call.incoming")["call"]["id"]
    assert engine.command("reject", call=call_id, code=486)["ok"]
    ended = engine.wait_event("call.ended", call_id=call_id)
    assert (ended["reason"], ended["ended_by"], ended["sip_status"]) == ("rejected", "agent", 486)
    assert sipp.wait() == 0, sipp.report()


def test_caller_cancels_before_answer(engine: EngineProcess, tmp_path: Path) -> None:
    sipp = Sipp(tmp_path, "uac_cancel.xml", engine.port)
    call_id = engine.wait_event("call.incoming")["call"]["id"]
    ended = engine.wait_event("call.ended", call_id=call_id)
    assert (ended["reason"], ended["ended_by"], ended["sip_status"]) == ("cancelled", "caller", 487)
    assert engine.command("answer", call=call_id)["error"]["code"] == "no_such_call"
    assert sipp.wait() == 0, sipp.report()


def fill_and_overflow(engine: EngineProcess, tmp_path: Path, ringing: int) -> dict[str, Any]:
    """Ring ``ringing`` calls, then one more that must get 486; returns its turned_away event."""
    held = Sipp(tmp_path, "uac_ring.xml", engine.port, calls=ringing, concurrent=ringing)
    ids = [engine.wait_event("call.incoming")["call"]["id"] for _ in range(ringing)]
    extra = Sipp(tmp_path, "uac_expect_busy.xml", engine.port, callers=[("Overflow", "+15550999")])
    assert extra.wait() == 0, extra.report()
    turned_away = engine.wait_event("call.turned_away")
    assert len(engine.command("status")["result"]["calls"]) == ringing
    for call_id in ids:
        assert engine.command("reject", call=call_id, code=486)["ok"]
        engine.wait_event("call.ended", call_id=call_id)
    assert held.wait() == 0, held.report()
    takes_a_normal_call(engine, tmp_path)  # still a working phone after hitting the cap
    return turned_away


def takes_a_normal_call(engine: EngineProcess, tmp_path: Path) -> None:
    """A SIPp caller rings, is answered, hangs up: the phone works."""
    again = Sipp(tmp_path, "uac_caller_hangs_up.xml", engine.port)
    call_id = engine.wait_event("call.incoming")["call"]["id"]
    assert engine.command("answer", call=call_id)["ok"]
    engine.wait_event("call.ended", call_id=call_id)
    assert again.wait() == 0, again.report()


def test_full_local_queue_turns_calls_away_with_the_busy_code(
    engine: EngineProcess, tmp_path: Path
) -> None:
    ready = engine.command("status")["result"]
    assert (ready["max_calls"], ready["capacity_measured"], ready["queue_capacity"]) == (
        32,
        True,
        3,
    )
    event = fill_and_overflow(engine, tmp_path, 3)
    assert (event["reason"], event["sip_status"]) == ("queue_full", 486)
    assert event["caller"]["display_name"] == "Overflow"


def test_a_queue_of_thirty_is_no_longer_squeezed_into_four_slots(tmp_path: Path) -> None:
    engine = engine_from(tmp_path, "sip:\n  queue_capacity: 30\n")
    try:
        ready = engine.wait_event("engine.ready")
        assert (ready["max_calls"], ready["queue_capacity"]) == (32, 30)
        event = fill_and_overflow(engine, tmp_path, 30)
        assert (event["reason"], event["sip_status"]) == ("queue_full", 486)
    finally:
        assert engine.stop() == 0, engine.log_tail()


def test_when_every_library_slot_is_taken_the_caller_gets_486_and_engine_survives(
    tmp_path: Path,
) -> None:
    """4 calls dialled out and 28 callers ringing fill the library's 32 slots: the
    library itself refuses the next caller (the queue of 30 still had room)."""
    engine = engine_from(tmp_path, "sip:\n  queue_capacity: 30\n")
    # Rings until cancelled: the dialled calls hold their slots as long as the test needs.
    far_end = Sipp(tmp_path, "uas_target_never_answers.xml", calls=4, concurrent=4, timeout=60)
    far_end.wait_listening()
    try:
        engine.wait_event("engine.ready")
        target = f"sip:target@127.0.0.1:{far_end.port}"
        dialled = [engine.command("dial", number=target)["result"]["call_id"] for _ in range(4)]
        held = Sipp(tmp_path, "uac_ring.xml", engine.port, calls=28, concurrent=28)
        ringing = [engine.wait_event("call.incoming")["call"]["id"] for _ in range(28)]
        # A raw caller: no media socket of its own to race the engine's 64 RTP ports for.
        with closing(RawCaller(engine.port)) as over:
            refused = over.final_acked(over.invite("+15550999", "Over"))
        assert refused.status == 486
        event = engine.wait_event("call.turned_away")
        assert (event["reason"], event["sip_status"]) == ("library_capacity", 486)
        for call_id in dialled:
            assert engine.command("hangup", call=call_id)["ok"]
        for call_id in ringing:
            assert engine.command("reject", call=call_id, code=486)["ok"]
        assert held.wait() == 0, held.report()
        assert far_end.wait() == 0, far_end.report()
        takes_a_normal_call(engine, tmp_path)
    finally:
        far_end.stop()
        assert engine.stop() == 0, engine.log_tail()


def test_commands_with_bad_input_get_typed_errors(engine: EngineProcess) -> None:
    assert engine.command("answer")["error"]["code"] == "bad_request"
    assert engine.command("answer", call="nope")["error"]["code"] == "no_such_call"
    assert engine.command("fly")["error"]["code"] == "unknown_command"
    assert engine.command("ping")["result"] == {"pong": True}
    engine.send({"cmd": "ping"})  # no id
    reply = engine.next_message(5)
    assert reply["ok"] is False
    assert reply["error"]["code"] == "bad_request"


def test_sigterm_mid_call_hangs_up_and_exits_cleanly(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path)
    engine.wait_event("engine.ready")
    sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", engine.port)
    call_id = engine.wait_event("call.incoming")["call"]["id"]
    assert engine.command("answer", call=call_id)["ok"]
    engine.wait_event("call.state", call_id=call_id, state="active")
    assert engine.stop() == 0, engine.log_tail()
    ended = engine.wait_event("call.ended", call_id=call_id, timeout=5)
    assert (ended["reason"], ended["ended_by"]) == ("shutdown", "engine")
    engine.wait_event("engine.stopping", timeout=5)
    assert sipp.wait() == 0, sipp.report()
    assert "Assertion" not in engine.log_tail(200)


def test_auto_answer_prints_the_whole_call(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path, "--auto-answer")
    try:
        engine.wait_event("engine.ready")
        sipp = Sipp(tmp_path, "uac_caller_hangs_up.xml", engine.port)
        assert sipp.wait() == 0, sipp.report()
        names = []
        ended = engine.wait_event("call.ended")
        names = [e["event"] for e in engine.events]
        assert ended["reason"] == "completed"
        assert names[:1] == ["call.incoming"]
    finally:
        assert engine.stop() == 0


def test_port_in_use_is_a_clear_error(tmp_path: Path, engine: EngineProcess) -> None:
    second = EngineProcess(tmp_path, listen_port=engine.port)
    assert second.proc.wait(20) == 2
    err = second.stderr()
    assert f"cannot listen for SIP on 127.0.0.1:{engine.port}/udp" in err
    assert "Traceback" not in err


def test_engine_log_holds_no_caller_identity(engine: EngineProcess, tmp_path: Path) -> None:
    sipp = Sipp(
        tmp_path, "uac_caller_hangs_up.xml", engine.port, callers=[("Zebediah Quux", "+15550177")]
    )
    call_id = engine.wait_event("call.incoming")["call"]["id"]
    assert engine.command("answer", call=call_id)["ok"]
    engine.wait_event("call.ended", call_id=call_id)
    assert sipp.wait() == 0, sipp.report()
    log = engine.log_path.read_text(errors="replace")
    assert "engine listening on" in log  # the log is being written
    assert "Zebediah" not in log
    assert "5550177" not in log
