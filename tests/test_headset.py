# SPDX-License-Identifier: GPL-2.0-or-later
"""The headset bridge against a real PortAudio device (virtual ALSA, see tests/alsa.py).

The device writes what it plays to ``speaker.wav`` and its microphone hears a
600 Hz tone. Three layers are checked: the :class:`sip.headset.Headset` port
in a small pjsua2 process, the ``careline audio`` commands, and a patient's
call to an engine in headset mode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.alsa import MIC_HZ, VirtualAlsa, headset_engine, make_virtual_alsa
from tests.audio_calls import (
    PATIENT_TONE,
    assert_steady,
    capture,
    capture_held_then_resumed,
    patient_calls,
)
from tests.audio_tone import dominant_frequency, read_wav_mono16, rms
from tests.careline_cli import careline
from tests.support import ROOT, EngineProcess, run_module


def probe(alsa_env: dict[str, str], *args: str, timeout: float = 30) -> dict[str, Any]:
    """Run tests/headset_probe.py; its last stdout line is JSON."""
    done = run_module("tests.headset_probe", *args, env=alsa_env, timeout=timeout)
    assert done.stdout.strip(), f"probe printed nothing (exit {done.returncode}): {done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == (0 if result["ok"] else 1)
    return result


def tone_in(path: Path) -> tuple[float, float]:
    """(dominant frequency, RMS) of a WAV file."""
    rate, samples = read_wav_mono16(path)
    return dominant_frequency(samples, rate), rms(samples)


def seconds_of_tone(path: Path, hz: float) -> float:
    """How much of a WAV file (in 0.25 s pieces) is clearly a tone of ``hz``."""
    rate, samples = read_wav_mono16(path)
    piece = rate // 4
    found = 0
    for start in range(0, len(samples) - piece + 1, piece):
        chunk = samples[start : start + piece]
        if rms(chunk) > 1000 and abs(dominant_frequency(chunk, rate) - hz) < 15:
            found += 1
    return found / 4


# ------------------------------------------------------------ the port itself
@pytest.mark.realtime
def test_port_audio_reaches_the_device_and_the_microphone_reaches_the_port(
    virtual_alsa: VirtualAlsa, tmp_path: Path
) -> None:
    recorded = tmp_path / "from-mic.wav"

    result = probe(virtual_alsa.env, "--seconds", "3", "--tone", "1000", "--record", str(recorded))

    assert result["ok"], result
    state = result["describe"]
    assert state["open"] is True
    assert (state["output_device"], state["input_device"]) == ("default", "default")
    assert state["sample_rate"] == 16000  # the bridge's rate: no resampling
    assert state["port_errors"] == 0
    # The device ran at real time: a 3 s run is 3 s of audio, not a CPU-speed flood.
    played_rate, played = read_wav_mono16(virtual_alsa.speaker)
    assert played_rate == 16000
    assert 2.5 < len(played) / played_rate < 4.5
    hz, level = tone_in(virtual_alsa.speaker)
    assert abs(hz - 1000) < 10, (hz, level)
    assert level > 3000, (hz, level)
    hz, level = tone_in(recorded)
    assert abs(hz - MIC_HZ) < 10, (hz, level)
    assert level > 3000, (hz, level)
    assert state["mic"]["peak_dbfs"] > -20
    assert state["speaker"]["peak_dbfs"] > -20
    # Steady flow both ways: no gap once audio flows, at most start-up overruns.
    for side in ("mic", "speaker"):
        assert state[side]["underruns"] == 0, state
        assert state[side]["overruns"] <= 10, state


def test_a_missing_device_is_a_clear_error(no_sound_env: dict[str, str]) -> None:
    result = probe(no_sound_env, "--seconds", "0.5")

    assert result["ok"] is False
    assert "no sound device" in result["error"]
    assert "audio.mode: station" in result["error"]


def test_a_device_named_that_does_not_exist_lists_the_ones_there(
    virtual_alsa: VirtualAlsa,
) -> None:
    result = probe(virtual_alsa.env, "--seconds", "0.5", "--output", "Jabra")

    assert result["ok"] is False
    assert "no speaker/headphone (output) device named like 'Jabra'" in result["error"]
    assert "'careline_speaker'" in result["error"]


def test_devices_chosen_by_part_of_their_name(virtual_alsa: VirtualAlsa) -> None:
    result = probe(
        virtual_alsa.env, "--seconds", "1", "--tone", "1000", "--output", "SPEAK", "--input", "mic"
    )

    assert result["ok"], result
    state = result["describe"]
    assert (state["output_device"], state["input_device"]) == ("careline_speaker", "careline_mic")
    hz, _level = tone_in(virtual_alsa.speaker)
    assert abs(hz - 1000) < 10


# ------------------------------------------------------------ careline audio
def test_audio_devices_lists_the_virtual_device(virtual_alsa: VirtualAlsa) -> None:
    table = careline("audio", "devices", env=virtual_alsa.env)
    as_json = careline("audio", "devices", "--json", env=virtual_alsa.env)

    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:4] == ["#", "name", "in", "out"]
    assert any("default" in row and "in/out" in row and "ALSA" in row for row in rows)
    devices = json.loads(as_json.stdout)
    default = next(d for d in devices if d["name"] == "default")
    assert default["default_output"]
    assert default["default_input"]
    assert default["outputs"] > 0
    assert default["inputs"] > 0


def test_audio_devices_with_no_device(no_sound_env: dict[str, str]) -> None:
    table = careline("audio", "devices", env=no_sound_env)
    as_json = careline("audio", "devices", "--json", env=no_sound_env)

    assert table.returncode == 1
    assert "no sound device" in table.stderr
    assert "Traceback" not in table.stderr
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout) == []


@pytest.mark.realtime
def test_audio_test_plays_the_tone_and_hears_the_microphone(virtual_alsa: VirtualAlsa) -> None:
    done = careline("audio", "test", "--seconds", "1.5", "--hz", "880", env=virtual_alsa.env)

    assert done.returncode == 0, done.stdout + done.stderr
    meter_updates = done.stdout.count("microphone [")  # "\r" reads as a newline here
    assert 8 <= meter_updates <= 20, done.stdout  # ~10 per second
    summary = done.stdout.splitlines()[-1]
    assert summary.startswith("tone played on 'default'; microphone peak -")
    assert summary.endswith("dBFS: OK")
    hz, level = tone_in(virtual_alsa.speaker)
    assert abs(hz - 880) < 10
    assert level > 3000


@pytest.mark.realtime
def test_audio_test_uses_the_configured_devices(virtual_alsa: VirtualAlsa, tmp_path: Path) -> None:
    config = tmp_path / "careline.yaml"
    config.write_text("audio:\n  headset:\n    output_device: nowhere\n")

    done = careline(
        "--config", str(config), "audio", "test", "--seconds", "1", env=virtual_alsa.env
    )

    assert done.returncode == 1
    assert "no speaker/headphone (output) device named like 'nowhere'" in done.stderr
    assert "Traceback" not in done.stderr


def test_audio_test_with_a_silent_microphone_fails(tmp_path: Path) -> None:
    quiet = make_virtual_alsa(tmp_path / "quiet", mic_hz=0, mic_seconds=5)

    done = careline("audio", "test", "--seconds", "1", env=quiet.env)

    assert done.returncode == 1
    assert "microphone peak -96.0 dBFS: silent — check the microphone 'default'" in done.stdout


def test_audio_test_with_no_device(no_sound_env: dict[str, str]) -> None:
    done = careline("audio", "test", "--seconds", "1", env=no_sound_env)

    assert done.returncode == 1
    assert done.stderr.startswith("careline: no sound device")
    assert "Traceback" not in done.stderr


def test_audio_test_ctrl_c_ends_cleanly(virtual_alsa: VirtualAlsa) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "audio", "test", "--seconds", "30"],
        cwd=ROOT,
        env=virtual_alsa.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("playing 440 Hz")
        time.sleep(0.5)
        proc.send_signal(subprocess.signal.SIGINT)  # type: ignore[attr-defined]
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert out.splitlines()[-1].endswith("dBFS: OK")


# ------------------------------------------------------------ through the engine
@pytest.mark.realtime
def test_a_call_is_bridged_to_the_headset_both_ways_and_held_calls_are_cut(
    patient: EngineProcess, virtual_alsa: VirtualAlsa, tmp_path: Path
) -> None:
    heard, held, resumed = (tmp_path / f"{n}.wav" for n in ("heard", "held", "resumed"))
    agent = headset_engine(tmp_path, virtual_alsa)
    try:
        outgoing, incoming = patient_calls(patient, agent)
        time.sleep(0.5)
        capture(patient, outgoing, heard, 2.0)
        state = agent.command("audio")["result"]["headset"]
        capture_held_then_resumed(agent, patient, (outgoing, incoming), held, resumed)
        assert agent.command("hangup", call=incoming)["ok"]
        patient.wait_event("call.ended", call_id=outgoing)
    finally:
        assert agent.stop() == 0, agent.log_tail()
    # The patient's tone came out of the agent's headset (2 s before the hold,
    # 1.5 s after it)...
    assert seconds_of_tone(virtual_alsa.speaker, PATIENT_TONE) >= 2.5
    # ...the agent's microphone reached the patient, not the engine's own 440 Hz source...
    hz, level = tone_in(heard)
    assert abs(hz - MIC_HZ) < 15, (hz, level)
    assert level > 1000, (hz, level)
    assert state["mic"]["peak_dbfs"] > -20, state
    assert state["speaker"]["peak_dbfs"] > -30, state
    # ...a held patient hears nothing of the agent, and hears them again on resume.
    _rate, on_hold = read_wav_mono16(held)
    assert rms(on_hold) < 200, rms(on_hold)
    assert_steady(resumed, MIC_HZ, what="after resume the patient hears the headset")


def test_an_engine_without_a_sound_device_starts_and_says_why(
    no_sound_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("audio:\n  mode: headset\n")
    agent = EngineProcess(tmp_path, "--config", str(config), env=no_sound_env)
    try:
        ready = agent.wait_event("engine.ready")
        assert ready["audio"]["mode"] == "headset"
        assert ready["audio"]["ok"] is False
        assert "no sound device" in ready["audio"]["detail"]
    finally:
        assert agent.stop() == 0, agent.log_tail()


def test_a_sound_system_that_aborts_portaudio_does_not_take_the_engine_down(
    tmp_path: Path,
) -> None:
    # An ALSA configuration whose only PCM is a null device: PortAudio 19.6
    # aborts the whole process while it lists the devices. The engine holds
    # the calls; it must find that out in a child, not by aborting.
    alsa = tmp_path / "asoundrc-null"
    alsa.write_text("pcm.null { type null }\n")
    env = {**os.environ, "ALSA_CONFIG_PATH": str(alsa)}
    config = tmp_path / "agent.yaml"
    config.write_text("audio:\n  mode: headset\n")
    agent = EngineProcess(tmp_path, "--config", str(config), env=env)
    try:
        ready = agent.wait_event("engine.ready")
        assert (ready["audio"]["mode"], ready["audio"]["ok"]) == ("headset", False)
        assert "the sound system failed" in ready["audio"]["detail"]
        assert "audio.mode: station" in ready["audio"]["detail"]
        assert agent.command("status")["ok"]
        switched = agent.command("audio", mode="headset")  # u: tried again, refused again
        assert switched["ok"] is False
        assert "the sound system failed" in switched["error"]["message"]
    finally:
        assert agent.stop() == 0, agent.log_tail()


def test_an_engine_without_a_sound_device_does_not_load_portaudio(
    no_sound_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("audio:\n  mode: headset\n")
    agent = EngineProcess(tmp_path, "--config", str(config), env=no_sound_env)
    try:
        agent.wait_event("engine.ready")
        maps = Path(f"/proc/{agent.proc.pid}/maps").read_text()
        assert "libportaudio" not in maps  # asked in a child: no 5 MiB for nothing
    finally:
        assert agent.stop() == 0, agent.log_tail()


class _StoppedHeadset:
    """Stands in for a Headset whose device stopped calling back."""

    closed = False
    port = None  # the bridge port the watchers (a monitor leg) are told is gone

    def healthy(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def test_a_headset_that_stops_is_reported_once() -> None:
    from sip.agent_audio import AgentAudio
    from sip.media import MediaSource
    from sip.settings import AudioSettings

    changes: list[str] = []
    audio = AgentAudio(
        AudioSettings(mode="headset"), MediaSource("silence"), lambda: changes.append("x")
    )
    stopped = _StoppedHeadset()
    audio._headset = stopped  # type: ignore[assignment]
    audio.check()
    audio.check()
    assert stopped.closed
    fact = audio.fact()
    assert (fact["mode"], fact["ok"]) == ("headset", False)
    assert "unplugged" in fact["detail"]
    assert changes == ["x"]
