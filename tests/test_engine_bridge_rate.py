# SPDX-License-Identifier: GPL-2.0-or-later
"""The conference bridge's clock follows the codec policy, and a tone crosses it clean
(issue 17: engine CPU per G.711 call).

pjsua's bridge runs at 16 kHz by default, so every G.711 call (8 kHz) is
resampled both ways with its large filter: half of the engine's CPU on a
one-call G.711 bench. When ``sip.codecs`` names only narrowband codecs the
bridge runs at 8 kHz and nothing is resampled; with a wideband codec in the
policy (the default G.722, Opus) it stays at 16 kHz, so G.722 calls keep their
band. The engine's own tone is made at the bridge's rate (no resampler either).

pjsua's cheaper "small filter" (``quality`` 3-4) was measured and not taken: it
passes the telephone band about 1 dB low at every resampling and 5 dB low at
3.4 kHz (a tone's level through the engine fell 3 dB).

Real engines, a call between them, and what each one hears captured as WAV.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from sip.codecs import bridge_rate
from tests.audio_calls import (
    PATIENT_TONE,
    assert_steady,
    capture_both,
    patient_calls,
    patient_engine,
    renegotiate,
)
from tests.audio_tone import dominant_frequency, read_wav_mono16, rms
from tests.engine_calls import engine_with

AGENT_TONE = 440.0
"""The narrowband engine's own tone (its ``audio_source``)."""
NARROWBAND = "audio:\n  mode: none\nsip:\n  audio_source: tone:440\n  codecs: [PCMU, PCMA]\n"
"""An agent engine whose calls may use G.711 only."""


@pytest.mark.parametrize(
    ("codecs", "rate"),
    [
        (("G722", "PCMU", "PCMA"), 16000),  # the default policy
        (("PCMU", "PCMA"), 8000),
        (("pcma", "GSM", "iLBC", "speex/8000"), 8000),
        (("PCMU", "opus"), 16000),
        (("PCMU", "speex"), 16000),  # every Speex rate, wideband ones too
        (("L16/16000",), 16000),
        ((), 16000),
    ],
)
def test_the_bridge_rate_is_8khz_only_when_every_codec_is_narrowband(
    codecs: tuple[str, ...], rate: int
) -> None:
    assert bridge_rate(codecs) == rate


@pytest.mark.parametrize(
    ("codecs", "rate"),
    [("", 16000), ("  codecs: [PCMU, PCMA]\n", 8000), ("  codecs: [PCMU, opus]\n", 16000)],
)
def test_the_engine_reports_the_bridge_rate_its_codecs_chose(
    tmp_path: Path, codecs: str, rate: int
) -> None:
    with engine_with(tmp_path, f"sip:\n  log_level: 1\n{codecs}") as engine:
        library = engine.command("status")["result"]["library"]
    assert library["bridge_clock_rate"] == rate


def residual_db(samples: Sequence[int], rate: int, hz: float) -> float:
    """Everything but the ``hz`` tone in one second of ``samples``, in dB below the tone
    (a least-squares sine at ``hz`` taken out: noise, distortion, images, clicks)."""
    second = samples[:rate]
    step = 2.0 * math.pi * hz / rate
    cosines = [math.cos(step * i) for i in range(len(second))]
    sines = [math.sin(step * i) for i in range(len(second))]
    a = 2.0 * sum(x * c for x, c in zip(second, cosines, strict=True)) / len(second)
    b = 2.0 * sum(x * s for x, s in zip(second, sines, strict=True)) / len(second)
    rest = [x - a * c - b * s for x, c, s in zip(second, cosines, sines, strict=True)]
    rest_rms = math.sqrt(sum(r * r for r in rest) / len(rest))
    return 20.0 * math.log10(max(rest_rms, 1e-9) / (math.hypot(a, b) / math.sqrt(2.0)))


def assert_clean(path: Path, hz: float, *, rate: int, what: str) -> None:
    """``path`` holds a steady tone of ``hz`` at ``rate`` Hz, at the tone generator's level,
    with nothing else above G.711's own noise (about 38 dB below a tone)."""
    heard_rate, samples = read_wav_mono16(path)
    assert heard_rate == rate, f"{what}: recorded at {heard_rate} Hz"
    assert_steady(path, hz, what=what, seconds=2.5)
    found = dominant_frequency(samples, heard_rate)
    assert abs(found - hz) < 2, f"{what}: {found} Hz"
    body = samples[heard_rate // 2 :]
    # pjmedia's tone generator plays at an amplitude near 12,400 (0.38 of full scale),
    # and so it arrives through G.711 and pjsua's large filter; the small filter
    # (quality 4) brought 11,100-11,240 here, 1 dB less for its one resampling.
    level = math.sqrt(2.0) * rms(body)
    assert 11800 < level < 13200, f"{what}: level {level:.0f}"
    residual = residual_db(body, heard_rate, hz)
    assert residual < -33, f"{what}: {residual:.1f} dB of noise and distortion"


@pytest.mark.realtime  # tones measured against the clock: run alone
def test_a_tone_crosses_a_narrowband_bridge_clean_both_ways_and_after_a_hold(
    tmp_path: Path,
) -> None:
    patient = patient_engine(tmp_path)  # the default policy: a 16 kHz bridge
    try:
        with engine_with(tmp_path, NARROWBAND, "--allow-capture") as agent:
            assert agent.command("status")["result"]["library"]["bridge_clock_rate"] == 8000
            calls = patient_calls(patient, agent)
            outgoing, incoming = calls
            codec = agent.command("status")["result"]["calls"][0]["codec"]
            assert (codec["name"], codec["clock_rate"]) == ("PCMU", 8000)
            for moment in ("answer", "hold"):
                if moment == "hold":
                    renegotiate(agent, "hold", incoming)
                    renegotiate(agent, "resume", incoming)
                heard_by_agent = tmp_path / f"agent-{moment}.wav"
                heard_by_patient = tmp_path / f"patient-{moment}.wav"
                capture_both(
                    (agent, incoming, heard_by_agent),
                    (patient, outgoing, heard_by_patient),
                    seconds=3.0,
                )
                assert_clean(heard_by_agent, PATIENT_TONE, rate=8000, what=f"agent after {moment}")
                assert_clean(
                    heard_by_patient, AGENT_TONE, rate=16000, what=f"patient after {moment}"
                )
    finally:
        assert patient.stop() == 0
