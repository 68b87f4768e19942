# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine against baresip, an independent softphone, on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audio_tone import dominant_frequency, read_wav_mono16, rms
from tests.baresip import Baresip
from tests.support import EngineProcess

AGENT_TONE = 1000.0
CALLER_TONE = 600.0


@pytest.fixture
def toned_engine(tmp_path: Path) -> Iterator[EngineProcess]:
    """An engine that sends a 1 kHz tone into calls and may capture call audio."""
    config = tmp_path / "tone.yaml"
    config.write_text(f"sip:\n  audio_source: tone:{int(AGENT_TONE)}\n")
    engine = EngineProcess(tmp_path, "--config", str(config), "--allow-capture")
    engine.wait_event("engine.ready")
    yield engine
    assert engine.stop() == 0, engine.log_tail()


def baresip_calls(engine: EngineProcess, peer: Baresip) -> str:
    """``peer`` dials the agent; the agent answers; returns the call id."""
    peer.dial(f"sip:queue@127.0.0.1:{engine.port}")
    call_id = str(engine.wait_event("call.incoming")["call"]["id"])
    assert engine.command("answer", call=call_id)["ok"]
    engine.wait_event("call.state", call_id=call_id, state="active")
    peer.wait_event("CALL_ESTABLISHED")
    return call_id


def test_baresip_calls_agent_answers_holds_resumes_hangs_up(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with Baresip(tmp_path, user="patient") as peer:
        call_id = baresip_calls(engine, peer)
        incoming = [e for e in engine.events if e["event"] == "call.ended"]
        assert not incoming
        assert engine.command("hold", call=call_id)["ok"]
        peer.wait_event("CALL_REMOTE_SDP", param="offer")
        time.sleep(0.3)
        assert engine.command("resume", call=call_id)["ok"]
        peer.wait_event("CALL_REMOTE_SDP", param="offer")
        time.sleep(0.3)
        assert engine.command("hangup", call=call_id)["ok"]
        ended = engine.wait_event("call.ended", call_id=call_id)
        assert (ended["reason"], ended["ended_by"]) == ("completed", "agent")
        facts = [fact["fact"] for fact in ended["call"]["timeline"]]
        assert [f for f in facts if f != "codec"] == ["ring", "answer", "hold", "resume", "end"]
        # baresip offers PCMU, PCMA: every (re-)negotiation lands on PCMU.
        codecs = [f["name"] for f in ended["call"]["timeline"] if f["fact"] == "codec"]
        assert len(codecs) >= 3, codecs  # the answer, the hold, the resume
        assert set(codecs) == {"PCMU"}, codecs
        peer.wait_event("CALL_CLOSED")


@pytest.mark.realtime  # audio measured against the clock: run alone
def test_audio_flows_both_ways(toned_engine: EngineProcess, tmp_path: Path) -> None:
    engine = toned_engine
    received_by_peer = tmp_path / "peer-heard.wav"
    captured = tmp_path / "agent-heard.wav"
    with Baresip(tmp_path, user="patient", tone_hz=CALLER_TONE, record_to=received_by_peer) as peer:
        call_id = baresip_calls(engine, peer)
        assert engine.command("capture", call=call_id, path=str(captured))["ok"]
        time.sleep(2.5)
        assert engine.command("capture_stop", call=call_id)["ok"]
        assert engine.command("hangup", call=call_id)["ok"]
        peer.wait_event("CALL_CLOSED")
        peer.save_recording()
    rate, heard = read_wav_mono16(captured)
    assert len(heard) > rate  # more than a second of audio
    assert rms(heard) > 1000
    assert abs(dominant_frequency(heard, rate) - CALLER_TONE) < 15
    rate, peer_heard = read_wav_mono16(received_by_peer)
    assert rms(peer_heard) > 1000
    assert abs(dominant_frequency(peer_heard, rate) - AGENT_TONE) < 15


@pytest.mark.realtime  # audio measured against the clock: run alone
def test_mute_silences_what_the_caller_hears(toned_engine: EngineProcess, tmp_path: Path) -> None:
    engine = toned_engine
    received_by_peer = tmp_path / "peer-heard.wav"
    with Baresip(tmp_path, user="patient", tone_hz=CALLER_TONE, record_to=received_by_peer) as peer:
        call_id = baresip_calls(engine, peer)
        assert engine.command("mute", call=call_id)["result"]["muted"] is True
        assert engine.wait_event("call.mute", call_id=call_id)["muted"] is True
        time.sleep(2.0)
        assert engine.command("hangup", call=call_id)["ok"]
        peer.wait_event("CALL_CLOSED")
        peer.save_recording()
    rate, heard = read_wav_mono16(received_by_peer)
    tail = heard[len(heard) // 2 :]  # well after the mute
    assert rms(tail) < 200, rms(tail)


def test_blind_transfer_of_a_baresip_caller_to_baresip(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with (
        Baresip(tmp_path, user="patient") as caller,
        Baresip(tmp_path, user="nurse", auto_answer=True) as nurse,
    ):
        call_id = baresip_calls(engine, caller)
        assert engine.command("transfer", call=call_id, target=nurse.uri)["ok"]
        result = engine.wait_event("call.transfer", call_id=call_id, status="succeeded", timeout=15)
        assert result["target"] == nurse.uri
        ended = engine.wait_event("call.ended", call_id=call_id)
        assert ended["reason"] == "transferred"
        nurse.wait_event("CALL_ESTABLISHED", timeout=10)  # the patient now talks to the nurse


def test_consult_swap_and_cancel_with_two_softphones(engine: EngineProcess, tmp_path: Path) -> None:
    with (
        Baresip(tmp_path, user="patient") as caller,
        Baresip(tmp_path, user="nurse", auto_answer=True) as nurse,
    ):
        call_id = baresip_calls(engine, caller)
        consult_id = engine.command("consult", call=call_id, target=nurse.uri)["result"][
            "consult_id"
        ]
        engine.wait_event("call.state", call_id=consult_id, state="active")
        nurse.wait_event("CALL_ESTABLISHED")
        assert engine.command("swap", call=call_id)["result"] == {
            "talking": call_id,
            "held": consult_id,
        }
        time.sleep(0.5)
        assert engine.command("swap", call=consult_id)["result"] == {
            "talking": consult_id,
            "held": call_id,
        }
        time.sleep(0.5)
        assert engine.command("cancel_consult", call=call_id)["ok"]
        assert engine.wait_event("call.ended", call_id=consult_id)["ended_by"] == "agent"
        nurse.wait_event("CALL_CLOSED")
        status = engine.command("status")["result"]
        [live] = status["calls"]
        assert live["id"] == call_id
        assert live["hold"] == {"local": False, "remote": False}
        assert engine.command("hangup", call=call_id)["ok"]
        caller.wait_event("CALL_CLOSED")


def test_peer_killed_mid_call_the_engine_carries_on(engine: EngineProcess, tmp_path: Path) -> None:
    with Baresip(tmp_path, user="patient") as peer:
        call_id = baresip_calls(engine, peer)
        peer.kill()
        assert engine.command("hangup", call=call_id)["ok"]
        ended = engine.wait_event("call.ended", call_id=call_id, timeout=40)
        assert ended["ended_by"] == "agent"
    with Baresip(tmp_path, user="again") as peer:
        call_id = baresip_calls(engine, peer)
        assert engine.command("hangup", call=call_id)["ok"]
        engine.wait_event("call.ended", call_id=call_id)
