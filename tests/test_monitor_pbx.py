# SPDX-License-Identifier: GPL-2.0-or-later
"""Listening in through a PBX (issue 20): the agent's engine registers at a real Kamailio,
and the supervisor's engine reaches it by the agent's address alone; the grant header
rides through the proxy, the mix is the agent's engine's, digits switch mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audio_calls import PATIENT_TONE, capture
from tests.audio_tone import read_wav_mono16, tone_level
from tests.kamailio import Kamailio
from tests.monitor_calls import HEARD, monitored_floor

ACCOUNT = (
    "  account:\n"
    "    registrar: sip:127.0.0.1:{port}\n"
    "    user: agent\n"
    "    domain: careline.test\n"
    "    expires: 60\n"
)


def test_a_supervisor_reaches_the_agent_by_address_through_kamailio_and_listens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARELINE_SIP_PASSWORD", "secret")
    with (
        Kamailio(tmp_path) as kamailio,
        monitored_floor(
            tmp_path, ACCOUNT.format(port=kamailio.port), engine_patient=True, phone=False
        ) as floor,
    ):
        floor.agent.wait_event("registration", state="registered")
        kamailio.wait_registered("agent")
        floor.call_in()
        reply = floor.supervisor.command(
            "monitor", target=f"sip:agent@127.0.0.1:{kamailio.port}", grant=floor.grant()
        )
        assert reply["ok"], reply
        floor.monitor_call = str(reply["result"]["call_id"])
        assert floor.decide(floor.agent.wait_event("monitor.request")) is None
        floor.agent.wait_event("monitor.state", monitor_id=floor.monitor_id)
        floor.supervisor.wait_event("call.codec", call_id=floor.monitor_call)
        wav = tmp_path / "through-kamailio.wav"
        capture(floor.supervisor, floor.monitor_call, wav, 1.2)
        rate, samples = read_wav_mono16(wav)
        assert tone_level(samples[rate // 5 :], rate, PATIENT_TONE) > HEARD
        floor.switch("whisper")  # the digit crosses the proxy's record-routed dialog
        assert floor.supervisor.command("hangup", call=floor.monitor_call)["ok"]
        ended = floor.agent.wait_event("monitor.ended", monitor_id=floor.monitor_id)
        assert ended["reason"] == "left"
