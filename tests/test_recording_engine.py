# SPDX-License-Identifier: GPL-2.0-or-later
"""Recorded calls, end to end with real audio: a patient engine playing 1 kHz calls an
agent engine whose voice is 440 Hz and whose queue is recorded.

The recording is decrypted and measured: both tones where the call was recorded,
digital silence where it was paused, the pause's marks where it was; the raw
file is no WAV and carries no tone; a file cut short (a killed engine) decrypts
up to its last whole chunk; a changed byte or a wrong key fails authentication.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from sip.recording_file import RecordingTamperedError, read_recording
from tests.alsa import MIC_HZ, make_virtual_alsa
from tests.audio_calls import PATIENT_TONE, patient_calls, renegotiate
from tests.audio_tone import dominant_frequency, read_wav_mono16, tone_segments
from tests.engine_calls import answered_call
from tests.recording_calls import (
    AGENT_TONE,
    ANNOUNCEMENT_TONE,
    assert_silent,
    assert_tones,
    recorded_call,
    recording_engine,
    recording_key,
    recording_state,
    samples_of,
    stretch,
    tonality,
    unlock,
)
from tests.support import EngineProcess
from tests.tiny_disk import TinyDisk

pytestmark = pytest.mark.realtime  # tones measured against the clock: run alone

PAUSE_SECONDS = 1.5
ANNOUNCEMENT_SECONDS = 2.0


def test_a_recorded_call_decrypts_to_both_voices_with_the_pause_silent(
    patient: EngineProcess, tmp_path: Path
) -> None:
    key = recording_key()
    agent = recording_engine(tmp_path, "consent")
    try:
        _outgoing, incoming, started = recorded_call(patient, agent, key)
        time.sleep(2.0)
        paused = agent.command("recording", call=incoming, action="pause", reason="verify")
        assert paused["result"]["paused"], paused
        time.sleep(PAUSE_SECONDS)
        assert not agent.command("recording", call=incoming, action="resume")["result"]["paused"]
        time.sleep(2.0)
        assert agent.command("hangup", call=incoming)["ok"]
        stopped = recording_state(agent, incoming, "stopped")
    finally:
        assert agent.stop() == 0, agent.log_tail()
    log = agent.log_path.read_text(errors="replace")
    for form in (base64.b64encode(key).decode(), key.hex()):
        assert form not in log, "the recordings key reached the engine's log"
    path = Path(started["file"])
    assert stopped["file"] == str(path)
    assert path.parent == tmp_path / "recordings"
    assert path.stat().st_mode & 0o777 == 0o600

    recording = read_recording(path, key)
    assert recording.complete
    assert recording.header["call_id"] == incoming
    rate = recording.sample_rate
    facts = [mark["fact"] for mark in recording.marks]
    assert facts == ["start", "pause", "resume"], recording.marks
    pause, resume = (mark["sample"] / rate for mark in recording.marks[1:])
    assert abs((resume - pause) - PAUSE_SECONDS) < 0.3, (pause, resume)
    samples = samples_of(recording.pcm)
    assert_tones(
        stretch(samples, rate, 0.5, pause - 0.1), rate, PATIENT_TONE, AGENT_TONE, what="before"
    )
    assert_silent(stretch(samples, rate, pause + 0.05, resume - 0.05), "the pause")
    end = len(samples) / rate
    assert end - resume > 1.5, (end, resume)
    assert_tones(
        stretch(samples, rate, resume + 0.2, end - 0.2),
        rate,
        PATIENT_TONE,
        AGENT_TONE,
        what="after",
    )

    # Without the key the file is noise: no RIFF header, no tone in its bytes.
    raw = path.read_bytes()
    assert b"RIFF" not in raw
    assert b"WAVE" not in raw
    as_pcm = samples_of(raw[256 : 256 + 2 * rate])
    for hz in (PATIENT_TONE, AGENT_TONE):
        assert tonality(as_pcm, rate, hz) < 0.01
    assert tonality(samples[int(0.5 * rate) : int(1.5 * rate)], rate, PATIENT_TONE) > 0.1

    # Cut short (the engine killed mid-call): every whole chunk before the cut decrypts.
    cut = tmp_path / "cut.clrec"
    cut.write_bytes(raw[: len(raw) * 2 // 3])
    partial = read_recording(cut, key)
    assert not partial.complete
    assert recording.pcm.startswith(partial.pcm)
    assert len(partial.pcm) / 2 / rate > end * 2 / 3 - 1.5

    # A changed byte, or another key: refused, no audio handed out.
    tampered = tmp_path / "tampered.clrec"
    tampered.write_bytes(raw[:-500] + bytes([raw[-500] ^ 1]) + raw[-499:])
    with pytest.raises(RecordingTamperedError):
        read_recording(tampered, key)
    with pytest.raises(RecordingTamperedError):
        read_recording(path, recording_key())


def test_an_announced_queue_plays_the_announcement_before_the_agent_and_holds_are_silence(
    patient: EngineProcess, tmp_path: Path
) -> None:
    key = recording_key()
    agent = recording_engine(tmp_path, "announce", announcement=ANNOUNCEMENT_SECONDS)
    try:
        unlock(agent, key)
        outgoing, incoming = patient_calls(patient, agent)
        heard = tmp_path / "patient-heard.wav"
        assert patient.command("capture", call=outgoing, path=str(heard))["ok"]
        recording_state(agent, incoming, "announcing")
        recording_state(agent, incoming, "recording", timeout=ANNOUNCEMENT_SECONDS + 5)
        time.sleep(2.0)
        assert patient.command("capture_stop", call=outgoing)["ok"]
        renegotiate(agent, "hold", incoming)
        time.sleep(1.5)
        renegotiate(agent, "resume", incoming)
        time.sleep(2.0)
        assert agent.command("hangup", call=incoming)["ok"]
        stopped = recording_state(agent, incoming, "stopped")
    finally:
        assert agent.stop() == 0, agent.log_tail()

    # The patient heard the announcement first, then the agent.
    rate, samples = read_wav_mono16(heard)
    first, *rest = tone_segments(samples, rate, min_gap_ms=60)
    assert abs(dominant_frequency(first, rate) - ANNOUNCEMENT_TONE) < 15
    assert len(first) / rate > ANNOUNCEMENT_SECONDS - 0.5
    after = samples[int((ANNOUNCEMENT_SECONDS + 0.6) * rate) :]
    assert abs(dominant_frequency(after, rate) - AGENT_TONE) < 15
    assert tonality(first, rate, AGENT_TONE) < 0.01, "the agent was heard during the announcement"

    # The recording starts after the announcement; the hold is silence between its marks.
    recording = read_recording(Path(stopped["file"]), key)
    rate = recording.sample_rate
    marks = {mark["fact"]: mark["sample"] / rate for mark in recording.marks}
    assert list(marks) == ["start", "hold", "hold_end"], recording.marks
    pcm = samples_of(recording.pcm)
    assert tonality(pcm[: int(marks["hold"] * rate)], rate, ANNOUNCEMENT_TONE) < 0.01
    assert_silent(stretch(pcm, rate, marks["hold"] + 0.05, marks["hold_end"] - 0.05), "the hold")
    assert_tones(
        stretch(pcm, rate, marks["hold_end"] + 0.3, len(pcm) / rate - 0.2),
        rate,
        PATIENT_TONE,
        AGENT_TONE,
        what="after the hold",
    )


def test_a_patient_who_refuses_consent_is_not_recorded(
    patient: EngineProcess, tmp_path: Path
) -> None:
    agent = recording_engine(tmp_path, "consent")
    try:
        unlock(agent, recording_key())
        outgoing, incoming = patient_calls(patient, agent)
        recording_state(agent, incoming, "awaiting_consent")
        assert patient.command("dtmf", call=outgoing, digits="2")["ok"]
        refused = recording_state(agent, incoming, "refused")
        assert refused["consent_by"] == "patient"
        refusal = agent.command("recording", call=incoming, action="consent")
        assert refusal["error"]["code"] == "invalid_state"  # a no stays a no
        time.sleep(1.0)
        assert agent.command("hangup", call=incoming)["ok"]
        agent.wait_event("call.ended", call_id=incoming)
    finally:
        assert agent.stop() == 0, agent.log_tail()
    assert not (tmp_path / "recordings").exists() or not any((tmp_path / "recordings").iterdir())


def test_a_patient_who_presses_1_is_recorded(patient: EngineProcess, tmp_path: Path) -> None:
    agent = recording_engine(tmp_path, "consent")
    try:
        unlock(agent, recording_key())
        outgoing, incoming = patient_calls(patient, agent)
        recording_state(agent, incoming, "awaiting_consent")
        assert patient.command("dtmf", call=outgoing, digits="1")["ok"]
        assert recording_state(agent, incoming, "recording")["consent_by"] == "patient"
        assert agent.command("hangup", call=incoming)["ok"]
        assert Path(recording_state(agent, incoming, "stopped")["file"]).exists()
    finally:
        assert agent.stop() == 0, agent.log_tail()


def test_without_the_key_nothing_is_recorded_and_the_call_goes_on(
    patient: EngineProcess, tmp_path: Path
) -> None:
    agent = recording_engine(tmp_path, "announce", announcement=0.5)
    try:
        _outgoing, incoming = patient_calls(patient, agent)
        failed = recording_state(agent, incoming, "failed")
        assert "no recordings key" in failed["detail"]
        assert agent.command("status")["result"]["calls"][0]["state"] == "active"
        assert agent.command("hangup", call=incoming)["ok"]
        agent.wait_event("call.ended", call_id=incoming)
    finally:
        assert agent.stop() == 0, agent.log_tail()
    assert not any((tmp_path / "recordings").glob("*.clrec"))


def test_a_killed_engine_leaves_a_recording_that_decrypts_to_its_last_chunk(
    patient: EngineProcess, tmp_path: Path
) -> None:
    key = recording_key()
    agent = recording_engine(tmp_path, "consent")
    try:
        _outgoing, incoming, started = recorded_call(patient, agent, key)
        path = Path(started["file"])
        time.sleep(3.5)
    finally:
        agent.proc.kill()
        agent.proc.wait(10)
    recording = read_recording(path, key)
    assert not recording.complete
    assert recording.seconds >= 2.0
    samples = samples_of(recording.pcm)
    assert_tones(
        samples[recording.sample_rate // 2 :],
        recording.sample_rate,
        PATIENT_TONE,
        AGENT_TONE,
        what="cut",
    )


def test_a_full_disk_stops_the_recording_not_the_call(
    patient: EngineProcess, tmp_path: Path, tiny_disk: TinyDisk
) -> None:
    key = recording_key()
    agent = recording_engine(tmp_path, "consent", directory=tiny_disk.path)
    try:
        _outgoing, incoming, started = recorded_call(patient, agent, key)
        path = Path(started["file"])
        time.sleep(1.5)
        tiny_disk.fill()
        failed = recording_state(agent, incoming, "failed")
        assert failed["detail"] == "the disk is full"
        assert agent.command("status")["result"]["calls"][0]["state"] == "active"
        assert agent.command("hangup", call=incoming)["ok"]
        agent.wait_event("call.ended", call_id=incoming)
        with pytest.raises(AssertionError):  # said once: the console audits each one
            recording_state(agent, incoming, "failed", timeout=1.0)
    finally:
        assert agent.stop() == 0, agent.log_tail()
    tiny_disk.free()
    recording = read_recording(path, key)
    assert not recording.complete
    assert recording.seconds >= 1.0


def test_the_agents_muted_voice_is_left_out_and_a_transfer_is_marked(
    tmp_path: Path,
) -> None:
    key = recording_key()
    agent = recording_engine(tmp_path, "consent")
    try:
        unlock(agent, key)
        with answered_call(agent, tmp_path, "uac_transferee_ok.xml") as call_id:
            recording_state(agent, call_id, "awaiting_consent")
            assert agent.command("recording", call=call_id, action="consent")["ok"]
            recording_state(agent, call_id, "recording")
            time.sleep(1.5)
            assert agent.command("mute", call=call_id)["ok"]
            time.sleep(1.5)
            assert agent.command("unmute", call=call_id)["ok"]
            time.sleep(1.5)
            target = "sip:nurse@127.0.0.1:5999"
            assert agent.command("transfer", call=call_id, target=target)["ok"]
            stopped = recording_state(agent, call_id, "stopped")
    finally:
        assert agent.stop() == 0, agent.log_tail()
    recording = read_recording(Path(stopped["file"]), key)
    rate = recording.sample_rate
    marks = [(m["fact"], m.get("status"), m["sample"] / rate) for m in recording.marks]
    facts = [fact for fact, _status, _at in marks]
    assert facts[:4] == ["start", "mute", "unmute", "transfer"], marks
    assert ("transfer", "succeeded") in [(fact, status) for fact, status, _at in marks]
    assert "hold" in facts  # a blind transfer holds the caller first: silence from there
    samples = samples_of(recording.pcm)
    muted_at, unmuted_at = marks[1][2], marks[2][2]
    talking = stretch(samples, rate, 0.3, muted_at - 0.1)
    muted = stretch(samples, rate, muted_at + 0.2, unmuted_at - 0.1)
    assert tonality(talking, rate, AGENT_TONE) > 0.1
    assert tonality(muted, rate, AGENT_TONE) < 0.01, "the muted agent was recorded"


def test_with_a_headset_the_agents_microphone_is_what_is_recorded(
    patient: EngineProcess, tmp_path: Path
) -> None:
    alsa = make_virtual_alsa(tmp_path / "alsa")
    key = recording_key()
    agent = recording_engine(tmp_path, "consent", audio="headset", env=alsa.env)
    try:
        _outgoing, incoming, started = recorded_call(patient, agent, key)
        time.sleep(2.5)
        assert agent.command("hangup", call=incoming)["ok"]
        recording_state(agent, incoming, "stopped")
    finally:
        assert agent.stop() == 0, agent.log_tail()
    recording = read_recording(Path(started["file"]), key)
    rate = recording.sample_rate
    samples = stretch(samples_of(recording.pcm), rate, 0.5, recording.seconds - 0.2)
    assert_tones(samples, rate, PATIENT_TONE, MIC_HZ, what="patient and microphone")
    assert tonality(samples, rate, AGENT_TONE) < 0.01  # the engine's own source is not the voice
