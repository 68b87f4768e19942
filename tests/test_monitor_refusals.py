# SPDX-License-Identifier: GPL-2.0-or-later
"""Who may not listen in: every monitor request whose grant does not hold, that is forged
on the wire, that nobody decides on, or that finds no free call slot is refused with its
reason, and the patient's call goes on untouched (issue 20)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.core.monitor_grants import new_grant_id
from sip.monitor import DECISION_SECONDS
from sip.monitor_terms import REFUSALS
from tests.engine_calls import engine_with
from tests.monitor_calls import Floor, monitored_floor
from tests.rawsip import RawCaller
from tests.support import Sipp

OTHER_UID = 4343
"""An OS account that is not a supervisor's."""


def assert_refused(floor: Floor, grant: str, why: str, mode: str = "listen") -> None:
    """The grant is refused for ``why``: the supervisor is told so, the agent's console
    saw the reason, the patient's call goes on."""
    refused, ended = floor.refused(grant, mode)
    assert refused == why
    code, phrase = REFUSALS[why]
    assert (ended["sip_status"], ended["sip_reason"]) == (code, phrase), ended
    on_agent = floor.agent.wait_event("monitor.ended")
    assert (on_agent["reason"], on_agent["refused"], on_agent["sip_status"]) == (why, True, code)
    status = floor.agent.command("status")["result"]
    assert [call["id"] for call in status["calls"]] == [floor.patient_call]
    assert status["calls"][0]["state"] == "active"


def test_forged_expired_foreign_and_unsafe_grants_are_refused_each_with_its_reason(
    tmp_path: Path,
) -> None:
    with monitored_floor(tmp_path, engine_patient=True, phone=False) as floor:
        floor.call_in()
        assert_refused(floor, new_grant_id(), "unknown_grant")  # forged: never made
        long_ago = datetime.now(UTC) - timedelta(minutes=2)
        assert_refused(floor, floor.grant(now=long_ago), "expired")
        assert_refused(floor, floor.grant(seconds=3600), "expired")  # too long-lived
        assert_refused(floor, floor.grant(agent_id="agent-8"), "other_agent")
        assert_refused(floor, floor.grant(call_id=str(uuid.uuid4())), "other_call")
        not_theirs = floor.grant()
        os.chown(floor.spool / f"{not_theirs}.json", OTHER_UID, -1)
        assert_refused(floor, not_theirs, "not_supervisor")
        writable = floor.grant()
        os.chmod(floor.spool / f"{writable}.json", 0o666)
        assert_refused(floor, writable, "unsafe_grant")
        assert_refused(floor, floor.grant(modes=["listen"]), "mode_not_granted", "barge")

        # A listen-only grant lets the supervisor in, but no digit takes them further.
        grant = floor.grant(modes=["listen"])
        floor.join("listen", grant)
        assert floor.supervisor.command("dtmf", call=floor.monitor_call, digits="3")["ok"]
        assert floor.supervisor.command("dtmf", call=floor.monitor_call, digits="2")["ok"]
        floor.supervisor.command("ping")
        [leg] = floor.agent.command("status")["result"]["monitors"]
        assert (leg["mode"], leg["modes"]) == ("listen", ["listen"])
        assert floor.supervisor.command("hangup", call=floor.monitor_call)["ok"]
        floor.agent.wait_event("monitor.ended", monitor_id=floor.monitor_id)
        assert_refused(floor, grant, "used")  # one grant, one leg

        assert not [e for e in floor.agent.events if e["event"] == "call.incoming"]


def test_a_request_nobody_decides_on_is_refused_and_bad_decisions_are_errors(
    tmp_path: Path,
) -> None:
    with monitored_floor(tmp_path, engine_patient=True, phone=False) as floor:
        floor.call_in()
        request = floor.request(floor.grant())
        leg = request["monitor_id"]
        bad = [
            {"monitor": leg, "call": floor.patient_call, "modes": ["spy"]},
            {"monitor": leg, "call": floor.patient_call, "modes": []},
            {"monitor": leg, "call": floor.patient_call, "modes": ["listen"] * 4},
            {"monitor": leg, "call": floor.patient_call, "modes": "listen"},
            {
                "monitor": leg,
                "call": floor.patient_call,
                "modes": ["listen"],
                "supervisor": "x" * 65,
            },
            {"monitor": "monitor-nope", "call": floor.patient_call, "modes": ["listen"]},
        ]
        for args in bad:
            reply = floor.agent.command("monitor_accept", **args)
            assert not reply["ok"], (args, reply)
        for reason in ("because", "", None, "x" * 10_000):
            reply = floor.agent.command("monitor_refuse", monitor=leg, reason=reason)
            assert reply["error"]["code"] == "bad_request", reply
        ended = floor.supervisor.wait_event(
            "call.ended", call_id=floor.monitor_call, timeout=DECISION_SECONDS + 5
        )
        assert (ended["sip_status"], ended["sip_reason"]) == REFUSALS["no_decision"]
        on_agent = floor.agent.wait_event("monitor.ended", monitor_id=leg)
        assert on_agent["reason"] == "no_decision"
        for grant in ("short", "../../etc/passwd", "A" * 200):
            reply = floor.supervisor.command(
                "monitor", target=f"sip:a@127.0.0.1:{floor.agent.port}", grant=grant
            )
            assert reply["error"]["code"] == "bad_request", reply
        reply = floor.supervisor.command(
            "monitor", target=f"sip:a@127.0.0.1:{floor.agent.port}", grant="A" * 22, mode="spy"
        )
        assert reply["error"]["code"] == "bad_request", reply


def test_forged_monitor_headers_on_the_wire_are_refused_and_never_ring(tmp_path: Path) -> None:
    with engine_with(tmp_path, "sip:\n  audio_source: silence\n") as agent:
        caller = RawCaller(agent.port)
        try:
            for value in (
                "../../etc/passwd",
                "A" * 300,
                "A" * 22 + ";mode=spy",
                "A" * 22 + ";evil=1",
                "A" * 22 + " ;mode=listen;mode=barge",
                "",
            ):
                dialog = caller.invite(headers=f"X-Careline-Monitor: {value}\r\n")
                final = caller.final_acked(dialog)
                assert (final.status, final.reason) == REFUSALS["malformed"], value
                ended = agent.wait_event("monitor.ended")
                assert (ended["reason"], ended["refused"]) == ("malformed", True)
            assert not [e for e in agent.events if e["event"] == "call.incoming"]
            dialog = caller.invite()  # a patient's call still rings
            agent.wait_event("call.incoming")
            caller.cancel(dialog)
        finally:
            caller.close()


def test_an_engine_with_no_free_call_slot_refuses_the_monitor_with_that_reason(
    tmp_path: Path,
) -> None:
    """A full queue of 30 and a call the agent dials take 31 of 32 slots: the last one
    stays the agent's (a consult, 911), so the monitor is refused."""
    with monitored_floor(
        tmp_path, "  queue_capacity: 30\n", engine_patient=True, phone=False
    ) as floor:
        floor.call_in()
        ringing = Sipp(tmp_path, "uac_ring.xml", floor.agent.port, calls=29, concurrent=29)
        ids = [floor.agent.wait_event("call.incoming")["call"]["id"] for _ in range(29)]
        dialled = floor.agent.command("dial", number=f"sip:x@127.0.0.1:{floor.supervisor.port}")
        assert dialled["ok"], dialled
        reply = floor.supervisor.command(
            "monitor",
            target=f"sip:agent@127.0.0.1:{floor.agent.port}",
            grant=floor.grant(),
        )
        assert reply["ok"], reply
        ended = floor.supervisor.wait_event("call.ended", call_id=reply["result"]["call_id"])
        assert (ended["sip_status"], ended["sip_reason"]) == REFUSALS["no_slot"]
        on_agent = floor.agent.wait_event("monitor.ended")
        assert (on_agent["reason"], on_agent["refused"]) == ("no_slot", True)
        for call_id in ids:
            assert floor.agent.command("reject", call=call_id, code=486)["ok"]
        assert ringing.wait() == 0, ringing.report()
        assert floor.agent.command("hangup", call=dialled["result"]["call_id"])["ok"]
        floor.join("listen")  # a slot is free again


def test_a_transfer_or_the_end_of_the_call_ends_the_monitor(tmp_path: Path) -> None:
    with monitored_floor(tmp_path, engine_patient=True, phone=False) as floor:
        floor.call_in()
        floor.join("listen")
        reply = floor.agent.command("transfer", call=floor.patient_call, target="sip:n@127.0.0.1:9")
        assert reply["ok"], reply
        ended = floor.agent.wait_event("monitor.ended", monitor_id=floor.monitor_id)
        assert (ended["reason"], ended["refused"]) == ("transferred", False)
        floor.supervisor.wait_event("call.ended", call_id=floor.monitor_call)
        assert floor.agent.command("hangup", call=floor.patient_call)["ok"]
        floor.agent.wait_event("call.ended", call_id=floor.patient_call)

        floor.call_in()
        floor.join("whisper")
        floor.switch("barge", method="info")  # a SIP INFO switches as a digit in the audio does
        assert floor.agent.command("hangup", call=floor.patient_call)["ok"]
        ended = floor.agent.wait_event("monitor.ended", monitor_id=floor.monitor_id)
        assert (ended["reason"], ended["refused"]) == ("call_ended", False)
        floor.supervisor.wait_event("call.ended", call_id=floor.monitor_call)


def test_a_flood_of_monitor_requests_is_refused_past_two_waiting_and_calls_still_ring(
    tmp_path: Path,
) -> None:
    """Requests nobody decides on hold call slots for seconds: past two waiting, the rest
    are refused at once, so a flood cannot take the slots patients' calls need."""
    with engine_with(tmp_path, "sip:\n  audio_source: silence\n") as agent:
        caller = RawCaller(agent.port)
        try:
            dialogs = [
                caller.invite(headers=f"X-Careline-Monitor: {new_grant_id()}\r\n") for _ in range(5)
            ]
            asked = [agent.wait_event("monitor.request") for _ in range(2)]
            for dialog in dialogs[2:]:
                final = caller.final_acked(dialog)
                assert (final.status, final.reason) == REFUSALS["too_many"]
            patient = caller.invite()
            agent.wait_event("call.incoming")
            caller.cancel(patient)
            for request in asked:
                reply = agent.command(
                    "monitor_refuse", monitor=request["monitor_id"], reason="unknown_grant"
                )
                assert reply["ok"], reply
            for dialog in dialogs[:2]:
                assert caller.final_acked(dialog).status == 403
        finally:
            caller.close()


def test_a_monitor_request_the_phone_library_refuses_is_reported_as_such(tmp_path: Path) -> None:
    """Plain RTP to an engine that requires SRTP: pjsua refuses it before anything of
    careline sees it; the console is told a monitor request was refused, not a patient."""
    with engine_with(tmp_path, "sip:\n  srtp: mandatory\n") as agent:
        caller = RawCaller(agent.port)
        try:
            dialog = caller.invite(headers=f"X-Careline-Monitor: {new_grant_id()}\r\n")
            assert caller.final_acked(dialog).status == 488
            ended = agent.wait_event("monitor.ended")
            assert (ended["reason"], ended["refused"], ended["sip_status"]) == (
                "library_refused",
                True,
                488,
            )
            assert not [e for e in agent.events if e["event"] == "call.turned_away"]
        finally:
            caller.close()
