# SPDX-License-Identifier: GPL-2.0-or-later
"""Recorded calls between test engines: an agent engine that records, its key, its files,
and the checks made on what a recording holds."""

from __future__ import annotations

import base64
import math
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.audio_calls import patient_calls
from tests.audio_tone import rms, write_tone_wav
from tests.pg import Hub
from tests.support import EngineProcess

AGENT_TONE = 440.0
"""The agent's side of a recorded call: the engine's source in none mode."""
ANNOUNCEMENT_TONE = 800.0
"""The announcement a recorded queue plays: a tone the test can tell from the others."""


def recording_key() -> bytes:
    """A fresh recordings key."""
    return os.urandom(32)


def recording_engine(
    workdir: Path,
    mode: str,
    *,
    announcement: float = 0.0,
    directory: Path | None = None,
    audio: str = "none",
    env: dict[str, str] | None = None,
) -> EngineProcess:
    """An agent engine (none mode: a 440 Hz voice) recording every queue in ``mode``.

    ``announcement``: seconds of an :data:`ANNOUNCEMENT_TONE` announcement (0: none);
    ``directory``: where the recordings go (default: ``recordings`` in ``workdir``);
    ``audio``/``env``: another audio mode and the environment it needs (a headset's).
    """
    lines = [
        f"audio:\n  mode: {audio}\n",
        f"sip:\n  audio_source: tone:{int(AGENT_TONE)}\n",
        f"recording:\n  directory: {directory or workdir / 'recordings'}\n",
        f"  queues:\n    '*':\n      mode: {mode}\n",
    ]
    if announcement:
        wav = workdir / "announcement.wav"
        write_tone_wav(wav, ANNOUNCEMENT_TONE, announcement, rate=16000)
        lines.append(f"      announcement: {wav}\n")
    config = workdir / f"recording-{mode}.yaml"
    config.write_text("".join(lines))
    engine = EngineProcess(workdir, "--config", str(config), "--allow-capture", env=env)
    engine.wait_event("engine.ready")
    return engine


def unlock(engine: EngineProcess, key: bytes) -> None:
    """Hand the engine the recordings key, as the console does."""
    reply = engine.command("recording", action="key", key=base64.b64encode(key).decode())
    assert reply["ok"], reply


def recording_state(
    engine: EngineProcess, call_id: str, state: str, timeout: float = 15.0
) -> dict[str, Any]:
    """The next ``recording`` event of ``call_id`` whose state is ``state``."""
    return engine.wait_event("recording", call_id=call_id, state=state, timeout=timeout)


def samples_of(pcm: bytes) -> list[int]:
    """16-bit little-endian PCM as samples."""
    return list(struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2]))


def tonality(samples: Sequence[int], rate: int, hz: float) -> float:
    """How much of ``samples``' energy is a tone of ``hz`` (about 0.5 for a tone that is
    half the signal's power; about 2/N for noise or random bytes)."""
    count = len(samples)
    if count == 0:
        return 0.0
    coeff = 2.0 * math.cos(2.0 * math.pi * hz / rate)
    s_prev = s_prev2 = 0.0
    for x in samples:
        s_prev2, s_prev = s_prev, x + coeff * s_prev - s_prev2
    power = s_prev2 * s_prev2 + s_prev * s_prev - coeff * s_prev * s_prev2
    energy = sum(x * x for x in samples)
    return power / (energy * count / 2) if energy else 0.0


def stretch(samples: Sequence[int], rate: int, start: float, end: float) -> Sequence[int]:
    """The samples from ``start`` to ``end`` seconds."""
    return samples[int(start * rate) : int(end * rate)]


def assert_tones(samples: Sequence[int], rate: int, *tones: float, what: str) -> None:
    """``samples`` carry each of ``tones`` clearly (the mix of patient and agent)."""
    assert rms(samples) > 500, f"{what}: too quiet ({rms(samples):.0f})"
    for hz in tones:
        share = tonality(samples, rate, hz)
        assert share > 0.1, f"{what}: no {hz} Hz tone (share {share:.3f})"


def assert_silent(samples: Sequence[int], what: str) -> None:
    """``samples`` are digital silence (a pause or a hold is written as zeros)."""
    assert samples, f"{what}: nothing recorded"
    loud = max(abs(x) for x in samples)
    assert loud == 0, f"{what}: not silent (peak {loud})"


def recorded_call(
    patient: EngineProcess, agent: EngineProcess, key: bytes
) -> tuple[str, str, dict[str, Any]]:
    """The patient calls the (consent-mode) agent, who answers and records the patient's
    spoken yes: (patient's call id, agent's call id, the ``recording`` event that started)."""
    unlock(agent, key)
    outgoing, incoming = patient_calls(patient, agent)
    recording_state(agent, incoming, "awaiting_consent")
    assert agent.command("recording", call=incoming, action="consent")["ok"]
    return outgoing, incoming, recording_state(agent, incoming, "recording")


def hub_login_yaml(tmp_path: Path, hub: Hub, login: str) -> str:
    """Config YAML for ``login`` (added to ``hub`` already) as agent id and hub login: the
    DSN without its password, a 0600 password file beside."""
    secret = tmp_path / f"{login}.pw"
    secret.write_text(hub.passwords[login] + "\n", encoding="utf-8")
    secret.chmod(0o600)
    dsn = f"host=127.0.0.1 port={hub.cluster.port} dbname={hub.dbname} user={login}"
    return f'agent:\n  id: {login}\nhub:\n  dsn: "{dsn}"\n  password_file: {secret}\n'
