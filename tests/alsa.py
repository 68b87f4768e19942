# SPDX-License-Identifier: GPL-2.0-or-later
"""A virtual ALSA sound device for PortAudio on machines with no sound card.

``ALSA_CONFIG_PATH`` names the files alsa-lib reads *instead of* its system
configuration (checked with alsa-lib 1.2.8: with only our file, the system's
``pcm.null`` is no longer defined), so the file below is self-contained and
no host or user ``.asoundrc`` can leak into a test. It defines

- ``pcm.!default``: ``asym``, a playback and a capture side (one ``file``
  plugin for both would write the captured samples into the played file);
- ``pcm.careline_speaker``: ``plug`` (converts rate/format/channels to
  whatever the application opens) over the ``file`` plugin, whose slave is a
  ``null`` device: everything played is written to ``speaker.wav``;
- ``pcm.careline_mic``: ``plug`` over a ``file`` plugin that reads what is
  captured from ``mic.raw`` (raw 16-bit mono PCM at the rate the stream
  opens: the plugin reads ``infile`` as raw samples, and repeats its last
  buffer once the file ends, so the tone is long).

The ``null`` device has no clock: PortAudio's callback would run as fast as
the CPU allows; ``sip.headset.pacing.RealTimeGuard`` holds it to real time.
Child processes get the configuration through :attr:`VirtualAlsa.env`.
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.audio_tone import write_tone_wav
from tests.support import EngineProcess

MIC_HZ = 600
"""The microphone's tone."""
RATE = 16000
"""The rate of the microphone file (the conference bridge's rate, which the headset opens)."""

ASOUNDRC = """\
pcm.!default {{
    type asym
    playback.pcm "careline_speaker"
    capture.pcm "careline_mic"
}}
pcm.careline_speaker {{
    type plug
    slave.pcm {{
        type file
        slave.pcm {{ type null }}
        file "{speaker}"
        format "wav"
    }}
}}
pcm.careline_mic {{
    type plug
    slave.pcm {{
        type file
        slave.pcm {{ type null }}
        file "/dev/null"
        infile "{mic}"
    }}
}}
"""


@dataclass(frozen=True)
class VirtualAlsa:
    """Where the virtual device keeps its audio, and the environment that selects it."""

    asoundrc: Path
    speaker: Path
    """What PortAudio played (WAV, 16-bit, at the rate the stream was opened with)."""
    mic: Path
    """What the microphone hears (raw PCM at :data:`RATE`)."""
    env: dict[str, str]
    """``os.environ`` plus ``ALSA_CONFIG_PATH``: pass it to child processes."""


def make_virtual_alsa(root: Path, mic_hz: float = MIC_HZ, mic_seconds: float = 60.0) -> VirtualAlsa:
    """Write the configuration and a microphone tone under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    tone = root / "mic.wav"
    write_tone_wav(tone, mic_hz, mic_seconds, rate=RATE)
    mic = root / "mic.raw"
    with wave.open(str(tone), "rb") as source:
        mic.write_bytes(source.readframes(source.getnframes()))
    speaker = root / "speaker.wav"
    asoundrc = root / "asoundrc"
    asoundrc.write_text(ASOUNDRC.format(speaker=speaker, mic=mic))
    return VirtualAlsa(asoundrc, speaker, mic, {**os.environ, "ALSA_CONFIG_PATH": str(asoundrc)})


def make_no_sound(root: Path) -> dict[str, str]:
    """An environment in which ALSA (so PortAudio) sees no device at all."""
    root.mkdir(parents=True, exist_ok=True)
    empty = root / "asoundrc-empty"
    # One PCM on a card that is never there: PortAudio 19.6 aborts the
    # process while enumerating when the ``pcm`` section is empty (or holds
    # only a ``null`` device), but lists nothing for a missing card.
    empty.write_text("pcm.careline_absent { type hw card 31 }\n")
    return {**os.environ, "ALSA_CONFIG_PATH": str(empty)}


@pytest.fixture
def virtual_alsa(tmp_path: Path) -> VirtualAlsa:
    """A virtual headset: plays into ``speaker.wav``, hears a 600 Hz tone."""
    return make_virtual_alsa(tmp_path / "alsa")


@pytest.fixture
def no_sound_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a child process that sees no sound device."""
    return make_no_sound(tmp_path / "alsa-none")


def headset_engine(tmp_path: Path, alsa: VirtualAlsa) -> EngineProcess:
    """An agent's engine in headset mode on the virtual device, its headset open.

    The engine's own source is a 440 Hz tone, so a test can tell it from the
    microphone's :data:`MIC_HZ`.
    """
    config = tmp_path / "agent.yaml"
    config.write_text("audio:\n  mode: headset\nsip:\n  audio_source: tone:440\n")
    engine = EngineProcess(tmp_path, "--config", str(config), env=alsa.env)
    ready = engine.wait_event("engine.ready")
    assert ready["audio"]["mode"] == "headset"
    assert ready["audio"]["ok"] is True, ready["audio"]
    assert ready["audio"]["headset"]["open"] is True
    return engine
