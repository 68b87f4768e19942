# SPDX-License-Identifier: GPL-2.0-or-later
"""Mid-call SIP flows of the engine against real SIPp (and a raw UDP caller) on 127.0.0.1.

Hold and resume from either side (and a hold the far end refuses), re-INVITE
without SDP, UPDATE, early media on an outbound call, DTMF both ways (RFC 4733
and SIP INFO), a REFER from the caller, and CANCEL racing the agent's answer.
The SIPp scenarios check the SDP the engine sends (``<ereg check_it="true">``),
so a wrong direction makes SIPp exit non-zero.
"""

from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import Any

import pytest

from tests.engine_calls import answered_call, ended_as, finish, wait_incoming
from tests.rawsip import RawCaller
from tests.support import EngineProcess, Sipp

SETTLE = 0.5
"""Seconds for a SIP exchange the engine reports no event for (e.g. a re-INVITE's 200)."""


def facts(ended: dict[str, Any]) -> list[str]:
    """The fact names of a call.ended event's timeline, in order."""
    return [str(fact["fact"]) for fact in ended["call"]["timeline"]]


def live_calls(engine: EngineProcess) -> list[dict[str, Any]]:
    """The calls the engine's ``status`` reports as live."""
    reply = engine.command("status")
    assert reply["ok"], reply
    return list(reply["result"]["calls"])


def assert_no_event(engine: EngineProcess, name: str, call_id: str) -> None:
    """Fail if the engine has reported ``name`` for ``call_id`` (and no one consumed it)."""
    while True:
        try:
            engine.next_message(0.05)
        except queue.Empty:
            break
    seen = [e for e in engine.events if e["event"] == name and e.get("call_id") == call_id]
    assert not seen, seen


# --------------------------------------------------------------------- hold
def test_agent_hold_and_resume_send_sendonly_then_sendrecv(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with answered_call(engine, tmp_path, "uac_held_by_agent.xml") as call_id:
        assert engine.command("hold", call=call_id)["ok"]
        held = engine.wait_event("call.hold", call_id=call_id)
        assert (held["local"], held["remote"]) == (True, False)
        # No event says the hold re-INVITE was answered; give SIPp the time to answer it.
        time.sleep(SETTLE)
        reply = engine.command("resume", call=call_id)
        assert reply["ok"], reply
        resumed = engine.wait_event("call.hold", call_id=call_id)
        assert (resumed["local"], resumed["remote"]) == (False, False)

        ended = ended_as(engine, call_id, "completed", "caller")
        timeline = facts(ended)
        assert [f for f in timeline if f in ("hold", "resume", "end")] == ["hold", "resume", "end"]


def test_remote_hold_is_answered_recvonly_and_reported(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with answered_call(engine, tmp_path, "uac_remote_hold.xml") as call_id:
        held = engine.wait_event("call.hold", call_id=call_id)
        assert (held["local"], held["remote"]) == (False, True)
        assert held["call"]["hold"] == {"local": False, "remote": True}
        resumed = engine.wait_event("call.hold", call_id=call_id)
        assert (resumed["local"], resumed["remote"]) == (False, False)

        ended = ended_as(engine, call_id, "completed", "caller")
        timeline = facts(ended)
        assert timeline.index("remote_hold") < timeline.index("remote_resume"), timeline


def test_caller_hangs_up_while_held(engine: EngineProcess, tmp_path: Path) -> None:
    with answered_call(engine, tmp_path, "uac_bye_while_held.xml") as call_id:
        assert engine.command("hold", call=call_id)["ok"]
        assert engine.wait_event("call.hold", call_id=call_id)["local"] is True
        ended = ended_as(engine, call_id, "completed", "caller", sip_status=200)
        assert ended["call"]["hold"]["local"] is True
        assert "hold" in facts(ended)
        assert live_calls(engine) == []


def test_refused_hold_is_undone_and_reported(engine: EngineProcess, tmp_path: Path) -> None:
    """A hold the far end refuses is not shown as held."""
    with answered_call(engine, tmp_path, "uac_refuses_hold.xml") as call_id:
        assert engine.command("hold", call=call_id)["ok"]
        assert engine.wait_event("call.hold", call_id=call_id)["local"] is True
        refused = engine.wait_event("call.hold", call_id=call_id)
        assert refused["local"] is False
        assert "refused the hold (488" in refused["detail"]
        assert [c["hold"]["local"] for c in live_calls(engine)] == [False]
        ended = engine.wait_event("call.ended", call_id=call_id)
        assert facts(ended)[-3:] == ["hold", "hold_failed", "end"]


# ------------------------------------------------------- offers and answers
def test_reinvite_without_sdp_gets_an_offer_and_the_call_goes_on(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with answered_call(engine, tmp_path, "uac_reinvite_nosdp.xml") as call_id:
        # SIPp re-INVITEs 200 ms after its ACK; the exchange itself raises no event.
        time.sleep(2 * SETTLE)
        assert_no_event(engine, "call.ended", call_id)
        assert [c["state"] for c in live_calls(engine)] == ["active"]
        assert engine.command("hangup", call=call_id)["ok"]
        ended_as(engine, call_id, "completed", "agent")


def test_update_with_sdp_is_answered_and_the_call_goes_on(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with answered_call(engine, tmp_path, "uac_update.xml") as call_id:
        ended = ended_as(engine, call_id, "completed", "caller", sip_status=200)
        # The UPDATE's offer renegotiated the stream: its codec is recorded again.
        assert facts(ended) == ["ring", "codec", "answer", "codec", "end"]


def test_a_caller_requiring_100rel_gets_a_reliable_180_and_an_early_update_is_declined_politely(
    engine: EngineProcess, tmp_path: Path
) -> None:
    """Carriers and some SBCs send ``Require: 100rel``: the 180 carries RSeq and is
    PRACKed. An UPDATE while it rings (the INVITE's offer still unanswered) gets
    RFC 3311's 500 + Retry-After, and the call goes on to be answered."""
    sipp = Sipp(tmp_path, "uac_100rel_update_while_ringing.xml", engine.port)
    call_id = wait_incoming(engine, sipp)
    time.sleep(0.5)  # PRACK and UPDATE come and go while it rings
    assert engine.command("answer", call=call_id)["ok"]
    ended_as(engine, call_id, "completed", "caller")
    finish(sipp)


# --------------------------------------------------------------- outbound
def test_outbound_call_with_early_media(engine: EngineProcess, tmp_path: Path) -> None:
    uas = Sipp(tmp_path, "uas_early_media.xml", timeout=20)
    target = f"sip:target@127.0.0.1:{uas.port}"
    reply = engine.command("dial", number=target)
    assert reply["ok"], reply
    assert reply["result"]["uri"] == target
    call_id = reply["result"]["call_id"]

    outgoing = engine.wait_event("call.outgoing")
    assert outgoing["call"]["id"] == call_id
    assert outgoing["call"]["direction"] == "outbound"
    early = engine.wait_event("call.state", call_id=call_id, state="early")
    assert early["sip_status"] == 183
    active = engine.wait_event("call.state", call_id=call_id, state="active")
    assert active["sip_status"] == 200
    states = [e["state"] for e in engine.events if e["event"] == "call.state"]
    assert "ringing" not in states, states

    assert engine.command("hangup", call=call_id)["ok"]
    ended_as(engine, call_id, "completed", "agent")
    finish(uas)


# ------------------------------------------------------------------- DTMF
@pytest.mark.parametrize(
    ("scenario", "digit", "method"),
    [("uac_dtmf_2833.xml", "1", "rfc4733"), ("uac_dtmf_info.xml", "5", "info")],
)
def test_incoming_dtmf_is_reported_once(
    engine: EngineProcess, tmp_path: Path, scenario: str, digit: str, method: str
) -> None:
    with answered_call(engine, tmp_path, scenario) as call_id:
        dtmf = engine.wait_event("call.dtmf", call_id=call_id, timeout=5)
        assert (dtmf["digit"], dtmf["method"]) == (digit, method)
        ended = ended_as(engine, call_id, "completed", "caller")
        # One key press: RFC 4733's three end-of-event packets must not repeat the digit.
        assert_no_event(engine, "call.dtmf", call_id)
        assert facts(ended).count("dtmf_received") == 1


def test_outgoing_dtmf_by_sip_info(engine: EngineProcess, tmp_path: Path) -> None:
    with answered_call(engine, tmp_path, "uac_expect_info_dtmf.xml") as call_id:
        reply = engine.command("dtmf", call=call_id, digits="7", method="info")
        assert reply["ok"], reply
        assert reply["result"]["sent"] == 1
        ended = ended_as(engine, call_id, "completed", "caller")
        sent = [
            (f["method"], f["count"]) for f in ended["call"]["timeline"] if f["fact"] == "dtmf_sent"
        ]
        assert sent == [("info", 1)]


# ------------------------------------------------------------------ REFER
def test_incoming_refer_is_declined_and_the_call_goes_on(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with answered_call(engine, tmp_path, "uac_sends_refer.xml") as call_id:
        refer = engine.wait_event("call.refer", call_id=call_id)
        assert refer["accepted"] is False
        assert refer["target"] == "sip:elsewhere@127.0.0.1:9"
        ended = ended_as(engine, call_id, "completed", "caller")
        assert "refer_received" in facts(ended)
        assert not [e for e in engine.events if e["event"] == "call.outgoing"]


# ----------------------------------------------------------- CANCEL race
RACE_DELAYS = (0.0, 0.0, 0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.030)
"""Seconds between sending ``answer`` to the engine and CANCEL to the wire, per attempt."""


def test_cancel_racing_the_answer_leaves_the_engine_consistent(
    engine: EngineProcess,
) -> None:
    caller = RawCaller(engine.port)
    outcomes: list[int] = []
    try:
        for attempt in range(len(RACE_DELAYS)):
            number = f"+1555020{attempt:02d}"
            dialog = caller.invite(number=number)
            incoming = engine.wait_event("call.incoming")
            assert incoming["call"]["caller"]["number"] == number
            call_id = incoming["call"]["id"]

            request_id = f"race{attempt}"
            engine.send({"id": request_id, "cmd": "answer", "call": call_id})
            # The answer travels through a pipe and the engine's command queue, the
            # CANCEL straight to pjsip: sweep a small head start so both can win.
            time.sleep(RACE_DELAYS[attempt])
            caller.cancel(dialog)
            final = caller.final_response(dialog)
            caller.ack(dialog, final)
            reply = engine.wait_reply(request_id)
            outcomes.append(final.status)

            if final.status == 200:
                assert reply["ok"], reply
                engine.wait_event("call.state", call_id=call_id, state="active")
                assert caller.bye(dialog) == 200
                ended = ended_as(engine, call_id, "completed", "caller")
            else:
                assert final.status == 487, final.raw
                assert not reply["ok"], reply
                assert reply["error"]["code"] in ("no_such_call", "invalid_state"), reply
                ended = engine.wait_event("call.ended", call_id=call_id)
                assert (ended["reason"], ended["ended_by"], ended["sip_status"]) == (
                    "cancelled",
                    "caller",
                    487,
                )
            assert live_calls(engine) == [], f"attempt {attempt}: outcomes {outcomes}"
    finally:
        caller.close()
    assert live_calls(engine) == []
    assert "Assertion" not in engine.log_tail(400)
