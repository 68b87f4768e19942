# SPDX-License-Identifier: GPL-2.0-or-later
"""Supervisor monitoring with real audio: a baresip patient, the agent's engine (its own
phone a baresip in station mode), a supervisor's engine; every party sends its own tone
and what each one hears shows who is connected to whom (issue 20)."""

from __future__ import annotations

from pathlib import Path

from tests.audio_calls import PATIENT_TONE, renegotiate
from tests.monitor_calls import AGENT_TONE, SUPERVISOR_TONE, monitored_floor


def test_listen_whisper_barge_hold_and_leave_each_reach_only_whom_they_should(
    tmp_path: Path,
) -> None:
    with monitored_floor(tmp_path) as floor:
        floor.call_in()
        state = floor.join("listen")
        assert (state["state"], state["mode"], state["call_id"]) == (
            "connected",
            "listen",
            floor.patient_call,
        )
        assert state["supervisor"]
        assert state["modes"] == ["listen", "whisper", "barge"]

        heard = floor.listen("listen")
        heard.assert_hears("supervisor", PATIENT_TONE, AGENT_TONE)
        heard.assert_hears("patient", AGENT_TONE)  # nobody hears the supervisor
        heard.assert_hears("agent", PATIENT_TONE)

        floor.switch("whisper")
        heard = floor.listen("whisper")
        heard.assert_hears("agent", PATIENT_TONE, SUPERVISOR_TONE)
        heard.assert_hears("patient", AGENT_TONE)  # the patient never hears a whisper
        heard.assert_hears("supervisor", PATIENT_TONE, AGENT_TONE)

        floor.switch("barge")
        heard = floor.listen("barge")
        heard.assert_hears("patient", AGENT_TONE, SUPERVISOR_TONE)
        heard.assert_hears("agent", PATIENT_TONE, SUPERVISOR_TONE)
        heard.assert_hears("supervisor", PATIENT_TONE, AGENT_TONE)

        floor.switch("listen")
        heard = floor.listen("listen-again")
        heard.assert_hears("supervisor", PATIENT_TONE, AGENT_TONE)
        heard.assert_hears("patient", AGENT_TONE)
        heard.assert_hears("agent", PATIENT_TONE)

        # One key leaves: the supervisor hangs up, the patient's call goes on.
        assert floor.supervisor.command("hangup", call=floor.monitor_call)["ok"]
        ended = floor.agent.wait_event("monitor.ended", monitor_id=floor.monitor_id)
        assert (ended["reason"], ended["refused"]) == ("left", False)
        status = floor.agent.command("status")["result"]
        assert [call["id"] for call in status["calls"]] == [floor.patient_call]
        assert status["monitors"] == []


def test_the_agents_hold_cuts_a_barging_supervisor_from_the_patient_both_ways(
    tmp_path: Path,
) -> None:
    with monitored_floor(tmp_path, engine_patient=True) as floor:
        floor.call_in()
        floor.join("barge")
        heard = floor.listen("barge")
        heard.assert_hears("patient", AGENT_TONE, SUPERVISOR_TONE)
        heard.assert_hears("supervisor", PATIENT_TONE, AGENT_TONE)

        renegotiate(floor.agent, "hold", floor.patient_call)
        heard = floor.listen("held")
        heard.assert_hears("patient")  # neither the agent nor the supervisor
        heard.assert_hears("supervisor", AGENT_TONE)
        heard.assert_hears("agent", SUPERVISOR_TONE)  # still coached while the patient waits

        renegotiate(floor.agent, "resume", floor.patient_call)
        heard = floor.listen("resumed")
        heard.assert_hears("patient", AGENT_TONE, SUPERVISOR_TONE)
        heard.assert_hears("supervisor", PATIENT_TONE, AGENT_TONE)


def test_a_supervisor_muted_at_their_own_phone_is_heard_by_nobody_until_unmuted(
    tmp_path: Path,
) -> None:
    """The wallboard listens muted: even a leg in whisper sends nothing until unmuted."""
    with monitored_floor(tmp_path, engine_patient=True) as floor:
        floor.call_in()
        floor.join("whisper", muted=True)
        heard = floor.listen("muted")
        heard.assert_hears("agent", PATIENT_TONE)
        heard.assert_hears("supervisor", PATIENT_TONE, AGENT_TONE)
        assert floor.supervisor.command("unmute", call=floor.monitor_call)["ok"]
        heard = floor.listen("unmuted")
        heard.assert_hears("agent", PATIENT_TONE, SUPERVISOR_TONE)
        heard.assert_hears("patient", AGENT_TONE)
