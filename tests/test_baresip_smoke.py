# SPDX-License-Identifier: GPL-2.0-or-later
"""Smoke tests for the baresip test peer (tests/baresip.py) and the tone helpers.

Real components only: baresip 1.0.0 and SIPp on 127.0.0.1, nothing mocked.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audio_tone import dominant_frequency, read_wav_mono16, rms, write_tone_wav
from tests.baresip import Baresip
from tests.support import Sipp


@pytest.fixture
def phones() -> Iterator[list[Baresip]]:
    """Started Baresip peers go in this list; each is stopped by PID (and must exit 0) after."""
    started: list[Baresip] = []
    yield started
    codes = {phone.uri: phone.stop() for phone in started}
    assert all(code == 0 for code in codes.values()), codes


def started(phones: list[Baresip], phone: Baresip) -> Baresip:
    """Register ``phone`` for teardown, start it and return it."""
    phones.append(phone)
    phone.start()
    return phone


def test_audio_tone_round_trip(tmp_path: Path) -> None:
    """A tone written to WAV is read back at its rate, level and frequency."""
    for hz in (600.0, 1000.0, 1234.0, 3000.0):
        path = tmp_path / f"tone-{hz:.0f}.wav"
        write_tone_wav(path, hz, 0.5)
        rate, samples = read_wav_mono16(path)
        assert (rate, len(samples)) == (8000, 4000)
        assert abs(dominant_frequency(samples, rate) - hz) <= 2.0
        assert rms(samples) == pytest.approx(0.3 * 32767 / 2**0.5, rel=0.01)
    assert rms([]) == 0.0


def test_baresip_starts_answers_ctrl_tcp_and_stops(phones: list[Baresip], tmp_path: Path) -> None:
    """baresip comes up, ctrl_tcp answers a harmless command, SIGTERM ends it cleanly."""
    phone = started(phones, Baresip(tmp_path))
    reply = phone.command("reginfo")
    assert reply["ok"] is True, reply
    assert phone.uri in reply["data"]
    assert phone.command("no_such_command")["ok"] is False
    assert phone.stop() == 0, phone.log_tail()
    assert "baresip is ready." in phone.log_tail(100)


def test_sipp_calls_baresip_auto_answer(phones: list[Baresip], tmp_path: Path) -> None:
    """SIPp's built-in UAC calls baresip, which answers by itself; SIPp hangs up."""
    phone = started(phones, Baresip(tmp_path, auto_answer=True))
    # SIPp's built-in "uac": INVITE, ACK, a 1 s pause (-d), BYE.
    sipp = Sipp(
        tmp_path, "uac", phone.sip_port, service="baresip", timeout=10, extra=["-d", "1000"]
    )
    try:
        established = phone.wait_event("CALL_ESTABLISHED")
        assert established["direction"] == "incoming"
        assert established["peeruri"] == f"sip:sipp@127.0.0.1:{sipp.port}"
        closed = phone.wait_event("CALL_CLOSED")
        assert closed["id"] == established["id"]
        assert sipp.wait(10) == 0, sipp.report()
    finally:
        sipp.stop()
    # answermode=auto answers inside baresip: 1.0.0 emits no CALL_INCOMING then.
    assert "CALL_INCOMING" not in phone.event_types()


def test_sipp_calls_baresip_manual_accept(phones: list[Baresip], tmp_path: Path) -> None:
    """Without auto-answer, CALL_INCOMING arrives and ctrl_tcp ``accept`` answers."""
    phone = started(phones, Baresip(tmp_path))
    sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", phone.sip_port, service="baresip")
    try:
        incoming = phone.wait_event("CALL_INCOMING")
        assert incoming["peeruri"] == f"sip:+15550100@127.0.0.1:{sipp.port}"
        phone.accept()
        phone.wait_event("CALL_ESTABLISHED", id=incoming["id"])
        phone.hangup()
        phone.wait_event("CALL_CLOSED", id=incoming["id"])
        assert sipp.wait(10) == 0, sipp.report()
    finally:
        sipp.stop()


def test_baresip_dials_sipp_hold_resume_hangup(phones: list[Baresip], tmp_path: Path) -> None:
    """baresip calls a SIPp UAS, holds and resumes over ctrl_tcp, then hangs up."""
    phone = started(phones, Baresip(tmp_path))
    sipp = Sipp(tmp_path, "uas_baresip_smoke.xml", phone.sip_port, timeout=15)
    try:
        sipp.wait_listening()
        phone.dial(f"sip:service@127.0.0.1:{sipp.port}")
        established = phone.wait_event("CALL_ESTABLISHED")
        call_id = established["id"]
        assert established["direction"] == "outgoing"
        phone.wait_event("CALL_REMOTE_SDP", id=call_id, param="answer")

        phone.hold()
        phone.wait_event("CALL_REMOTE_SDP", id=call_id, param="answer")
        phone.resume()
        phone.wait_event("CALL_REMOTE_SDP", id=call_id, param="answer")

        phone.hangup()
        phone.wait_event("CALL_CLOSED", id=call_id)
        assert sipp.wait(10) == 0, sipp.report()
    finally:
        sipp.stop()


@pytest.mark.realtime  # audio measured against the clock: run alone
def test_audio_between_two_baresips(phones: list[Baresip], tmp_path: Path) -> None:
    """A (1000 Hz) calls B (600 Hz, auto-answer, recording): B hears 1000 Hz."""
    recording = tmp_path / "b-received.wav"
    b = Baresip(tmp_path, user="b", tone_hz=600.0, record_to=recording, auto_answer=True)
    started(phones, b)
    a = started(phones, Baresip(tmp_path, user="a", tone_hz=1000.0))
    a.dial(b.uri)
    call_id = a.wait_event("CALL_ESTABLISHED")["id"]
    b.wait_event("CALL_ESTABLISHED", id=call_id)
    time.sleep(3.0)
    a.hangup()
    a.wait_event("CALL_CLOSED", id=call_id)
    b.wait_event("CALL_CLOSED", id=call_id)

    rate, samples = read_wav_mono16(b.save_recording())
    assert rate == 8000
    assert len(samples) >= 2 * rate, f"only {len(samples) / rate:.2f}s recorded"
    assert rms(samples) > 3000
    assert abs(dominant_frequency(samples, rate) - 1000.0) <= 20.0


def test_a_ctrl_port_taken_by_another_server_is_not_mistaken_for_baresip(
    phones: list[Baresip], tmp_path: Path
) -> None:
    """Another test's server took the control port first: baresip starts on new ports,
    and commands reach it, not the other server (a flake seen in parallel CI)."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        phone = Baresip(tmp_path)
        taken = phone.ctrl_port = squatter.getsockname()[1]
        started(phones, phone)
        assert phone.ctrl_port != taken
        reply = phone.command("reginfo")
        assert reply["ok"] is True, reply
