# SPDX-License-Identifier: GPL-2.0-or-later
"""Station mode: the engine calls the agent's own phone (baresip here) and bridges calls to it.

Three real parties on 127.0.0.1: the patient (an engine sending a 1000 Hz
tone), the agent's engine in ``station`` mode, and the agent's phone (baresip
answering by itself, sending 600 Hz). The tones are measured at both ends.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from console.dialogs.choice import ChoicePicker
from console.widgets.status_bar import StatusBar
from sip.engine import PhoneEngine
from sip.settings import EngineSettings
from tests.audio_calls import (
    PATIENT_TONE,
    assert_steady,
    capture,
    capture_held_then_resumed,
    patient_calls,
    wait_station,
)
from tests.audio_tone import dominant_frequency, read_wav_mono16, rms
from tests.baresip import Baresip
from tests.console_app import make_app, screen_text, wait_for
from tests.station_phone import connect_station, phone_and_station
from tests.support import EngineProcess

AGENT_TONE = 600.0


@pytest.mark.realtime
def test_tones_cross_the_station_bridge_both_ways(patient: EngineProcess, tmp_path: Path) -> None:
    phone_heard = tmp_path / "phone-heard.wav"
    patient_heard = tmp_path / "patient-heard.wav"
    with phone_and_station(tmp_path, AGENT_TONE, record_to=phone_heard) as (phone, agent):
        up = connect_station(agent)
        assert (up["mode"], up["station"]["number"]) == ("station", phone.uri)
        # Idempotent: a second sign-in does not ring the phone again.
        assert agent.command("station", action="connect")["ok"]
        outgoing, incoming = patient_calls(patient, agent)
        capture(patient, outgoing, patient_heard, 2.5)
        assert agent.command("hangup", call=incoming)["ok"]
        patient.wait_event("call.ended", call_id=outgoing)
        # The station leg outlives the patient's call.
        assert agent.command("status")["result"]["audio"]["station"]["state"] == "up"
    rate, heard = read_wav_mono16(patient_heard)
    assert rms(heard) > 1000, "the patient heard nothing from the agent's phone"
    assert abs(dominant_frequency(heard, rate) - AGENT_TONE) < 15
    rate, at_phone = read_wav_mono16(phone_heard)
    assert rms(at_phone) > 1000, "the agent's phone heard nothing from the patient"
    assert abs(dominant_frequency(at_phone, rate) - PATIENT_TONE) < 15


@pytest.mark.realtime
def test_a_held_patient_does_not_hear_the_station(patient: EngineProcess, tmp_path: Path) -> None:
    patient_heard, resumed = tmp_path / "patient-heard.wav", tmp_path / "resumed.wav"
    with phone_and_station(tmp_path, AGENT_TONE) as (_phone, agent):
        connect_station(agent)
        calls = patient_calls(patient, agent)
        capture_held_then_resumed(agent, patient, calls, patient_heard, resumed)
        incoming = calls[1]
        assert agent.command("hangup", call=incoming)["ok"]
    _rate, heard = read_wav_mono16(patient_heard)
    assert rms(heard) < 200, rms(heard)
    assert_steady(resumed, AGENT_TONE, what="after resume the patient hears the agent's phone")


def test_a_phone_that_does_not_answer_is_reported(tmp_path: Path) -> None:
    with phone_and_station(tmp_path, AGENT_TONE, auto_answer=False) as (phone, agent):
        assert agent.command("station", action="connect")["ok"]
        phone.wait_event("CALL_INCOMING")
        wait_station(agent, "calling")
        phone.hangup()  # the agent declines on the phone
        down = wait_station(agent, "down")
        assert down["station"]["detail"].startswith("your phone"), down


def test_station_mode_needs_a_number(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("audio:\n  mode: station\n")
    engine = EngineProcess(tmp_path, "--config", str(config))
    assert engine.proc.wait(timeout=20) != 0
    assert "station.number" in engine.stderr()


def test_switching_modes_while_running(tmp_path: Path) -> None:
    with phone_and_station(tmp_path, AGENT_TONE) as (_phone, agent):
        reply = agent.command("audio", mode="none")
        assert reply["result"]["mode"] == "none"
        assert not agent.command("station", action="connect")["ok"]
        reply = agent.command("audio", mode="station")
        assert reply["ok"], reply
        wait_station(agent, "up")
        reply = agent.command("audio", mode="none")
        assert reply["result"]["station"]["state"] == "off"
        # Straight back to station while the old leg is still being hung up:
        # the phone is called again once it is gone.
        assert agent.command("audio", mode="station")["ok"]
        wait_station(agent, "up")
        assert agent.command("audio", mode="none")["ok"]
        bad = agent.command("audio", mode="speaker")
        assert not bad["ok"]
        assert "headset, station, none" in bad["error"]["message"]


async def test_console_calls_the_phone_at_sign_in_and_shows_its_state(tmp_path: Path) -> None:
    with Baresip(tmp_path, user="phone", tone_hz=AGENT_TONE, auto_answer=True) as phone:
        app = make_app(
            tmp_path, f"audio:\n  mode: station\n  station:\n    number: '{phone.uri}'\n"
        )
        async with app.run_test(size=(140, 36), notifications=True) as pilot:
            status = app.agent_screen.query_one(StatusBar)
            await wait_for(pilot, lambda: status.state.audio.station_state == "up", 20, "phone up")
            assert "phone connected" in screen_text(app)
            phone.wait_event("CALL_ESTABLISHED")
            # The agent hangs up their phone: the console says so and how to fix it.
            phone.hangup()
            await wait_for(pilot, lambda: status.state.audio.station_state == "down", 15, "down")
            text = " ".join(screen_text(app).split())
            assert "phone not connected (u)" in text
            assert "your phone hung up. Press u to call it again." in text
            # u, then the first choice: call my phone again.
            await pilot.press("u")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="picker")
            assert "Call my phone again" in screen_text(app)
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: status.state.audio.station_state == "up", 20, "phone up again"
            )
            # u, then "No audio": the phone is hung up.
            await pilot.press("u")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="picker")
            await pilot.press("down", "down", "enter")
            await wait_for(pilot, lambda: status.state.audio.mode == "none", what="mode none")
            assert status.state.audio.station_state == "off"
            assert "no audio" in screen_text(app)
            # The engine dies and is restarted in the configured (station) mode:
            # the console puts back the agent's choice.
            process = app.phone.process
            assert process is not None
            process.kill()
            await wait_for(pilot, lambda: not app.phone.status.online, 10, "engine gone")
            await wait_for(pilot, lambda: app.phone.status.online, 30, "engine back")
            for _ in range(100):  # the new engine started in station mode
                reply = await app.phone.command("audio")
                if reply["mode"] == "none":
                    break
                await pilot.pause(0.1)
            assert reply["mode"] == "none", reply
            assert "Could not" not in screen_text(app)


def test_a_station_that_cannot_be_called_leaves_the_mode_as_it_was(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("audio:\n  mode: none\n  station:\n    number: 'not a number'\n")
    agent = EngineProcess(tmp_path, "--config", str(config))
    try:
        agent.wait_event("engine.ready")
        reply = agent.command("audio", mode="station")
        assert not reply["ok"]
        assert "audio.station.number" in reply["error"]["message"]
        status = agent.command("audio")["result"]
        assert (status["mode"], status["station"]["state"]) == ("none", "off")
    finally:
        assert agent.stop() == 0, agent.log_tail()


def test_station_mode_on_32_slots_leaves_the_largest_queue_whole(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(
        "sip:\n  queue_capacity: 30\naudio:\n  mode: none\n  station:\n"
        "    number: 'sip:phone@127.0.0.1:9'\n"
    )
    agent = EngineProcess(tmp_path, "--config", str(config))
    try:
        ready = agent.wait_event("engine.ready")
        assert (ready["max_calls"], ready["queue_capacity"]) == (32, 30)
        reply = agent.command("audio", mode="station")
        assert reply["result"]["queue_capacity"] == 30, reply
    finally:
        assert agent.stop() == 0, agent.log_tail()


def test_station_mode_keeps_a_call_slot_for_the_phone_on_a_small_library() -> None:
    """On a 4-slot library (the PyPI wheel) the station leg's slot comes off the queue,
    and a queue asked for more than the slots keeps one free for a consult call."""
    events: list[dict[str, object]] = []
    engine = PhoneEngine(EngineSettings(queue_capacity=10), events.append)
    engine.max_calls = 4
    assert engine.queue_capacity == 3
    engine.audio = SimpleNamespace(mode="station")  # type: ignore[assignment]
    assert engine.queue_capacity == 2
    small = PhoneEngine(EngineSettings(queue_capacity=2), events.append)
    small.max_calls = 4
    small.audio = SimpleNamespace(mode="station")  # type: ignore[assignment]
    assert small.queue_capacity == 2
