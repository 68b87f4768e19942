# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent's local queue: availability, capacity, auto-in queues, routing headers, dialling."""

from __future__ import annotations

from pathlib import Path

from tests.engine_calls import engine_from, engine_with
from tests.support import EngineProcess, Sipp


def test_routing_headers_pass_through_as_plain_text(engine: EngineProcess, tmp_path: Path) -> None:
    sipp = Sipp(tmp_path, "uac_queue_call.xml", engine.port)
    call = engine.wait_event("call.incoming")["call"]
    assert call["queue"] == "nurse-line"
    assert call["headers"] == {
        "X-Queue": "nurse-line",
        "Priority": "urgent",
        "Alert-Info": "<urn:alert:service:normal>",
        "Diversion": "<sip:+15550111@127.0.0.1>;reason=unconditional",
    }
    assert engine.command("reject", call=call["id"], code=486)["ok"]
    assert sipp.wait() == 0, sipp.report()


def test_not_ready_turns_calls_away_with_480_and_says_why(
    engine: EngineProcess, tmp_path: Path
) -> None:
    bad = engine.command("availability", state="not_ready")
    assert bad["error"]["code"] == "bad_request"  # a reason is required
    reply = engine.command("availability", state="not_ready", reason="Lunch")
    assert reply["result"]["state"] == "not_ready"
    event = engine.wait_event("agent.availability")
    assert (event["state"], event["reason"]) == ("not_ready", "Lunch")
    sipp = Sipp(tmp_path, "uac_queue_call.xml", engine.port)
    away = engine.wait_event("call.turned_away")
    assert (away["reason"], away["sip_status"]) == ("agent not_ready", 480)
    assert away["availability"]["reason"] == "Lunch"
    assert sipp.wait() == 0, sipp.report()
    assert not [e for e in engine.events if e["event"] == "call.incoming"]

    engine.command("availability", state="wrap_up")
    sipp = Sipp(tmp_path, "uac_queue_call.xml", engine.port)
    assert engine.wait_event("call.turned_away")["reason"] == "agent wrap_up"
    assert sipp.wait() == 0, sipp.report()

    engine.command("availability", state="available")
    sipp = Sipp(tmp_path, "uac_queue_call.xml", engine.port)
    call_id = engine.wait_event("call.incoming")["call"]["id"]
    assert engine.command("reject", call=call_id, code=486)["ok"]
    assert sipp.wait() == 0, sipp.report()
    status = engine.command("status")["result"]
    assert status["availability"]["state"] == "available"


def test_wrap_up_can_be_configured_to_ring(tmp_path: Path) -> None:
    with engine_with(tmp_path, "sip:\n  accept_calls_in_wrap_up: true\n") as engine:
        engine.command("availability", state="wrap_up")
        sipp = Sipp(tmp_path, "uac_queue_call.xml", engine.port)
        call_id = engine.wait_event("call.incoming")["call"]["id"]
        engine.command("reject", call=call_id, code=486)
        assert sipp.wait() == 0, sipp.report()


def test_auto_in_queue_answers_at_once(tmp_path: Path) -> None:
    with engine_with(tmp_path, "sip:\n  auto_answer_queues: [nurse-line]\n") as engine:
        sipp = Sipp(tmp_path, "uac_queue_call.xml", engine.port)
        call = engine.wait_event("call.incoming")["call"]
        assert call["auto_answered"] is True
        engine.wait_event("call.state", call_id=call["id"], state="active")
        assert engine.command("hangup", call=call["id"])["ok"]
        assert sipp.wait() == 0, sipp.report()


def test_dial_normalises_numbers_and_refuses_bad_ones(tmp_path: Path) -> None:
    receiver = EngineProcess(tmp_path)
    receiver.wait_event("engine.ready")
    try:
        with engine_with(
            tmp_path, f"sip:\n  dial:\n    domain: 127.0.0.1:{receiver.port}\n"
        ) as engine:
            bad = engine.command("dial", number="call mom")
            assert bad["error"]["code"] == "bad_number"
            reply = engine.command("dial", number="(202) 555-0142")
            assert reply["result"]["number"] == "+12025550142"
            assert reply["result"]["uri"] == f"sip:+12025550142@127.0.0.1:{receiver.port}"
            incoming = receiver.wait_event("call.incoming")["call"]
            assert incoming["called_uri"] == reply["result"]["uri"]
            call_id = reply["result"]["call_id"]
            assert engine.wait_event("call.state", call_id=call_id, state="ringing")
            assert receiver.command("answer", call=incoming["id"])["ok"]
            engine.wait_event("call.state", call_id=call_id, state="active")

            # RFC 4733 DTMF from one engine arrives as digits at the other.
            assert engine.command("dtmf", call=call_id, digits="42#")["result"]["sent"] == 3
            digits = [receiver.wait_event("call.dtmf")["digit"] for _ in range(3)]
            assert digits == ["4", "2", "#"]
            assert (
                engine.command("dtmf", call=call_id, digits="x")["error"]["code"] == "bad_request"
            )

            assert engine.command("hangup", call=call_id)["ok"]
            ended = receiver.wait_event("call.ended")
            assert ended["ended_by"] == "caller"
            timeline = engine.wait_event("call.ended", call_id=call_id)["call"]["timeline"]
            sent = [fact for fact in timeline if fact["fact"] == "dtmf_sent"]
            assert sent == [
                {"at": sent[0]["at"], "fact": "dtmf_sent", "method": "rfc4733", "count": 3}
            ]
    finally:
        assert receiver.stop() == 0


def test_srtp_mandatory_refuses_a_plain_rtp_offer(tmp_path: Path) -> None:
    with engine_with(tmp_path, "sip:\n  srtp: mandatory\n") as engine:
        sipp = Sipp(tmp_path, "uac_expect_not_acceptable.xml", engine.port)
        assert sipp.wait() == 0, sipp.report()
        assert not [e for e in engine.events if e["event"] == "call.incoming"]


def test_dial_presents_a_caller_id_and_refuses_a_forged_one(tmp_path: Path) -> None:
    # Outbound worklists present the clinic's number (worklists.caller_id): the
    # engine asserts it in P-Asserted-Identity, which a PBX or trunk shows callers.
    receiver = engine_from(tmp_path, "sip:\n  passthrough_headers: [P-Asserted-Identity]\n")
    receiver.wait_event("engine.ready", timeout=20)
    try:
        with engine_with(
            tmp_path, f"sip:\n  dial:\n    domain: 127.0.0.1:{receiver.port}\n"
        ) as engine:
            for forged in ("+1202\r\nX-Evil: yes", "<sip:boss@evil>", "12", "+" + "1" * 30, 42):
                refused = engine.command("dial", number="2025550142", caller_id=forged)
                assert refused["error"]["code"] == "bad_request", forged
            reply = engine.command("dial", number="2025550142", caller_id="+1 (202) 555-0100")
            assert reply["ok"], reply
            incoming = receiver.wait_event("call.incoming")["call"]
            assert incoming["headers"]["P-Asserted-Identity"] == (
                f"<sip:+12025550100@127.0.0.1:{receiver.port}>"
            )
            assert engine.command("hangup", call=reply["result"]["call_id"])["ok"]
            receiver.wait_event("call.ended")
    finally:
        assert receiver.stop() == 0
