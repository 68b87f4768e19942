# SPDX-License-Identifier: GPL-2.0-or-later
"""Playing a recording back from the command line, through a (virtual) sound device:
the timeline printed, 1.5x at the same pitch, every playback audited; a file
that does not decrypt plays nothing and is audited as a failure."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.core.audit import AuditLog
from console.core.config.recording import QueueRecordingConfig, RecordingConfig
from console.core.events import RecordingChanged, decode
from console.core.recordings.keys import recordings_key
from console.core.recordings.ledger import RecordingLedger
from console.core.recordings.playback import speed_up
from console.core.store import Store
from sip.recording_file import RecordingWriter
from tests.alsa import make_virtual_alsa
from tests.audio_tone import dominant_frequency, read_wav_mono16
from tests.careline_cli import careline

CALL = "9a1e4b1a-0000-4000-8000-000000000003"
RATE = 16000
SECONDS = 3


def tone(hz: float, seconds: float) -> bytes:
    count = int(RATE * seconds)
    step = 2 * math.pi * hz / RATE
    return struct.pack(f"<{count}h", *(int(8000 * math.sin(step * i)) for i in range(count)))


async def stored_recording(tmp_path: Path) -> Path:
    """A 3 s recording of 1 kHz with a pause mark at 1 s, in a store and config of its own."""
    directory = tmp_path / "recordings"
    key = recordings_key(directory, None).key
    path = directory / f"{CALL}.clrec"
    created = "2026-03-02T09:00:00.000Z"
    writer = RecordingWriter(path, key, call_id=CALL, sample_rate=RATE, created=created)
    writer.audio(tone(1000, 1))
    writer.mark({"fact": "pause", "sample": RATE, "reason": "verify"})
    writer.audio(tone(1000, SECONDS - 1))
    writer.end({"fact": "end"})
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        config = RecordingConfig(queues={"*": QueueRecordingConfig(mode="consent")})
        ledger = RecordingLedger(store, AuditLog(store), "qa-1", config)
        for state in ("recording", "stopped"):
            raw = {"event": "recording", "call_id": CALL, "mode": "consent", "state": state}
            event = decode({**raw, "time": "2026-03-02T09:00:00.000Z", "file": str(path)})
            assert isinstance(event, RecordingChanged)
            await ledger.apply(event, "q")
        await ledger.held.settled()  # written behind, as in the console: on disk from here
        raised = datetime(2026, 3, 2, 9, 0, 2, tzinfo=UTC)  # a red flag two seconds in
        await AuditLog(store).append("qa-1", "escalate", "red_flag", "ok", "p-1", at=raised)
    finally:
        await store.close()
    settings = tmp_path / "c.yaml"
    settings.write_text(
        f"agent:\n  id: qa-1\nstore:\n  path: {tmp_path / 'store.sqlite3'}\n"
        f"recording:\n  directory: {directory}\n"
    )
    return settings


async def plays(store_path: Path) -> list[tuple[str, str]]:
    store = await Store.open(store_path)
    try:
        rows = await store.fetch_all(
            "SELECT action, outcome FROM audit WHERE action = 'record_play' ORDER BY seq"
        )
    finally:
        await store.close()
    return [(str(a), str(o)) for a, o in rows]


@pytest.mark.realtime
async def test_play_prints_the_timeline_and_plays_faster_at_the_same_pitch(tmp_path: Path) -> None:
    settings = await stored_recording(tmp_path)
    alsa = make_virtual_alsa(tmp_path / "alsa")
    done = careline(
        "--config", str(settings), "recordings", "play", CALL, "--speed", "1.5", env=alsa.env
    )
    assert done.returncode == 0, done.stderr
    assert "[0] 00:01 pause (verify)" in done.stdout
    assert "[1] 00:02 red_flag" in done.stdout
    rate, samples = read_wav_mono16(alsa.speaker)
    played = len(samples) / rate
    assert abs(played - SECONDS / 1.5) < 0.3, played
    assert abs(dominant_frequency(samples, rate) - 1000) < 15  # the pitch kept
    assert await plays(tmp_path / "store.sqlite3") == [("record_play", "ok")]


async def test_a_recording_that_does_not_open_plays_nothing_and_is_audited(
    tmp_path: Path,
) -> None:
    settings = await stored_recording(tmp_path)
    (tmp_path / "recordings" / "recordings.key").write_bytes(bytes(32))  # another key
    done = careline("--config", str(settings), "recordings", "play", CALL, "--timeline")
    assert done.returncode == 1
    assert "failed authentication" in done.stderr
    assert await plays(tmp_path / "store.sqlite3") == [("record_play", "fail")]


def test_faster_keeps_the_pitch() -> None:
    fast = speed_up(tone(440, 1.0), RATE, 1.5)
    samples = struct.unpack(f"<{len(fast) // 2}h", fast)
    assert abs(len(samples) / RATE - 1 / 1.5) < 0.05
    assert abs(dominant_frequency(samples, RATE) - 440) < 10
