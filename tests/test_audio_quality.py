# SPDX-License-Identifier: GPL-2.0-or-later
"""Calls sound right: what each side hears, measured per 20 ms window.

In every agent audio mode (none, headset on a virtual ALSA device, station
with baresip as the agent's phone) a patient engine calls the agent: both
directions are recorded for 4.5 s after the answer, and again after a
hold/resume by the agent and by the patient. After the first 200 ms no
window may fall below 0.7x the median level and no sample may reach full
scale (see :func:`tests.audio_calls.assert_steady`). Before the codec policy,
Speex's silence suppression failed the first check about once a second and
its decoder's run-away after a resume failed the second.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.alsa import MIC_HZ, VirtualAlsa, headset_engine
from tests.audio_calls import (
    PATIENT_TONE,
    STEADY_SECONDS,
    assert_steady,
    capture,
    capture_both,
    patient_calls,
    renegotiate,
)
from tests.audio_tone import continuity, dominant_frequency, read_wav_mono16, tone_segments
from tests.station_phone import connect_station, phone_and_station
from tests.support import EngineProcess

pytestmark = pytest.mark.realtime  # tones measured against the clock: run alone

AGENT_TONE = 440.0
"""The tone of the agent's side: the engine's source in none mode."""
PHONE_TONE = 600.0
"""The tone of the agent's own phone (station mode)."""
HELD_SECONDS = 1.5


def hold_and_resume(engine: EngineProcess, call_id: str) -> None:
    """Hold the call from ``engine``'s side, wait, resume; returns once the stream runs again."""
    held = renegotiate(engine, "hold", call_id)
    assert held["name"] == "G722", held
    time.sleep(HELD_SECONDS)
    resumed = renegotiate(engine, "resume", call_id)
    assert (resumed["name"], resumed["clock_rate"]) == ("G722", 16000), resumed


def patient_hears_steady(
    patient: EngineProcess,
    agent: EngineProcess,
    calls: tuple[str, str],
    tmp_path: Path,
    hz: float,
    source: str,
) -> None:
    """After the answer, a hold/resume by the agent and one by the patient, what the
    patient hears (``hz`` from ``source``) is steady for :data:`STEADY_SECONDS`."""
    outgoing, incoming = calls
    for moment in ("answer", "agent", "patient"):
        if moment == "agent":
            hold_and_resume(agent, incoming)
        elif moment == "patient":
            hold_and_resume(patient, outgoing)
        heard = tmp_path / f"{moment}.wav"
        capture(patient, outgoing, heard, STEADY_SECONDS)
        assert_steady(heard, hz, what=f"patient hearing {source} after {moment}")


def codec_facts(engine: EngineProcess, call_id: str) -> list[str]:
    """The codec facts in a live call's timeline, as ``NAME/RATE``."""
    calls = engine.command("status")["result"]["calls"]
    (call,) = [c for c in calls if c["id"] == call_id]
    return [f"{f['name']}/{f['clock_rate']}" for f in call["timeline"] if f["fact"] == "codec"]


def assert_whole_call_steady(samples: Sequence[int], rate: int, hz: float, stretches: int) -> None:
    """A recording of the whole call: ``stretches`` stretches of tone, each steady, each 4 s+."""
    found = tone_segments(samples, rate)
    assert len(found) == stretches, [len(s) / rate for s in found]
    for index, stretch in enumerate(found):
        heard = continuity(stretch, rate)
        what = f"stretch {index + 1} of the agent's side"
        assert len(stretch) >= 4 * rate, f"{what}: {len(stretch) / rate:.2f} s"
        assert abs(dominant_frequency(stretch, rate) - hz) < 15, f"{what}: not {hz} Hz"
        assert heard.dips == 0, f"{what}: drop-outs ({heard})"
        assert heard.clipped == 0, f"{what}: clipped ({heard})"


def test_none_mode_both_directions_steady_after_answer_and_holds_from_each_side(
    patient: EngineProcess, tmp_path: Path
) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(f"audio:\n  mode: none\nsip:\n  audio_source: tone:{int(AGENT_TONE)}\n")
    agent = EngineProcess(tmp_path, "--config", str(config), "--allow-capture")
    agent.wait_event("engine.ready")
    try:
        outgoing, incoming = patient_calls(patient, agent)
        for moment, holder in (("answer", None), ("agent", agent), ("patient", patient)):
            if holder is agent:
                hold_and_resume(agent, incoming)
            elif holder is patient:
                hold_and_resume(patient, outgoing)
            by_patient, by_agent = tmp_path / f"{moment}-p.wav", tmp_path / f"{moment}-a.wav"
            capture_both((patient, outgoing, by_patient), (agent, incoming, by_agent))
            assert_steady(by_patient, AGENT_TONE, what=f"patient after {moment}")
            assert_steady(by_agent, PATIENT_TONE, what=f"agent after {moment}")
        # Every (re-)negotiation is in the timeline: answer, 2 holds, 2 resumes.
        assert codec_facts(agent, incoming) == ["G722/16000"] * 5
        assert agent.command("hangup", call=incoming)["ok"]
        ended = agent.wait_event("call.ended", call_id=incoming)
        assert ended["call"]["codec"] == {"name": "G722", "clock_rate": 16000, "channels": 1}
    finally:
        assert agent.stop() == 0, agent.log_tail()


def test_headset_mode_both_directions_steady(
    patient: EngineProcess, virtual_alsa: VirtualAlsa, tmp_path: Path
) -> None:
    agent = headset_engine(tmp_path, virtual_alsa)
    try:
        outgoing, incoming = patient_calls(patient, agent)
        patient_hears_steady(patient, agent, (outgoing, incoming), tmp_path, MIC_HZ, "headset")
        assert agent.command("hangup", call=incoming)["ok"]
        patient.wait_event("call.ended", call_id=outgoing)
    finally:
        assert agent.stop() == 0, agent.log_tail()
    # The headset played the patient in three stretches: a hold on either side
    # silences it (the patient's engine, a careline one, cuts its held call too).
    rate, played = read_wav_mono16(virtual_alsa.speaker)
    assert_whole_call_steady(played, rate, PATIENT_TONE, stretches=3)


def test_station_mode_both_directions_steady(patient: EngineProcess, tmp_path: Path) -> None:
    phone_heard = tmp_path / "phone-heard.wav"
    with phone_and_station(tmp_path, PHONE_TONE, record_to=phone_heard) as (_phone, agent):
        connect_station(agent)
        outgoing, incoming = patient_calls(patient, agent)
        calls = (outgoing, incoming)
        patient_hears_steady(patient, agent, calls, tmp_path, PHONE_TONE, "the agent's phone")
        assert agent.command("hangup", call=incoming)["ok"]
        patient.wait_event("call.ended", call_id=outgoing)
        assert agent.command("station", action="disconnect")["ok"]
    rate, at_phone = read_wav_mono16(phone_heard)
    assert_whole_call_steady(at_phone, rate, PATIENT_TONE, stretches=3)
