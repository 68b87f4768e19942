# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline qa`` plays the evaluated call's recording beside the form (issues 20 and 21),
under Pilot, through the virtual ALSA device: ``p`` plays and stops, ``j`` jumps to a
moment of the timeline, ``f`` plays it at 1.5x; every playback is audited as
``careline recordings play`` audits it; leaving the screen or quitting stops the audio;
a wrong key, a missing key or file, no recording and no sound device are said plainly."""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.core.audit import AuditLog
from console.core.config import ConfigError
from console.core.config.recording import QueueRecordingConfig, RecordingConfig
from console.core.events import RecordingChanged, decode
from console.core.quality.selection import week_of
from console.core.recordings.keys import KEY_FILE, recordings_key
from console.core.recordings.ledger import RecordingLedger
from console.core.recordings.player import Playback, PlaybackError, open_audited
from console.core.recordings.sealing import new_key_pair
from console.core.store import Store
from console.hub.connection import hub_connector
from console.hub.recording_playback import hub_opener
from console.qa_view.app import QaApp, create_qa
from console.qa_view.evaluation_screen import EvaluationScreen
from console.qa_view.moment_picker import MomentPicker
from console.qa_view.queue_screen import QueueScreen
from console.qa_view.recording_panel import RecordingPanel
from console.qa_view.session import QaSettings, session_opener
from sip.recording_file import RecordingWriter
from tests.alsa import VirtualAlsa, make_no_sound, make_virtual_alsa
from tests.audio_tone import dominant_frequency, read_wav_mono16
from tests.console_app import screen_text, shows_toast, wait_for
from tests.qa_calls import MONDAY, a_week

SIZE = (160, 48)
RATE = 16000
CREATED = "2026-12-02T09:00:10.000Z"
"""When the emergency's recording started."""
SECONDS = 4.0
"""1000 Hz for two seconds (a pause mark at one), then 500 Hz for two (a red flag raised)."""


def tone(hz: float, seconds: float) -> bytes:
    count = int(RATE * seconds)
    step = 2 * math.pi * hz / RATE
    return struct.pack(f"<{count}h", *(int(8000 * math.sin(step * i)) for i in range(count)))


async def recorded_week(tmp_path: Path) -> tuple[Path, Path]:
    """A week of calls whose emergency was recorded (a real encrypted file, this console's
    key beside it, the ledger's rows); the store and the recordings directory."""
    path, directory = tmp_path / "store.sqlite3", tmp_path / "recordings"
    store = await Store.open(path)
    try:
        emergency = await a_week(store)
        file = directory / f"{emergency}.clrec"
        key = recordings_key(directory, None).key
        writer = RecordingWriter(file, key, call_id=emergency, sample_rate=RATE, created=CREATED)
        writer.audio(tone(1000, 1))
        writer.mark({"fact": "pause", "sample": RATE, "reason": "[b]verify[/b]"})
        writer.audio(tone(1000, 1))
        writer.audio(tone(500, 2))
        writer.end({"fact": "end"})
        config = RecordingConfig(queues={"*": QueueRecordingConfig(mode="consent")})
        ledger = RecordingLedger(store, AuditLog(store), "alice", config)
        for state in ("recording", "stopped"):
            raw = {"event": "recording", "call_id": emergency, "mode": "consent", "state": state}
            event = decode({**raw, "time": CREATED, "file": str(file), "seconds": SECONDS})
            assert isinstance(event, RecordingChanged)
            await ledger.apply(event, "general")
        await ledger.held.settled()  # written behind, as in the console: on disk from here
        raised = datetime(2026, 12, 2, 9, 0, 12, tzinfo=UTC)  # a red flag two seconds in
        await AuditLog(store).append("alice", "escalate", "red_flag", "ok", at=raised)
    finally:
        await store.close()
    return path, directory


def qa(path: Path, directory: Path) -> QaApp:
    start, end = week_of(MONDAY)
    return create_qa(
        session_opener(QaSettings(path, None, "sam", start, end, recordings=directory))
    )


async def open_call(app: QaApp, pilot: Pilot[int], *keys: str) -> RecordingPanel:
    """The queue's first call (the recorded emergency), or the one ``keys`` move to."""
    await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen) and bool(app.screen.entries))
    await pilot.press(*keys, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, EvaluationScreen), what="the form")
    return app.screen.query_one(RecordingPanel)


async def played(pilot: Pilot[int], panel: RecordingPanel, alsa: VirtualAlsa) -> list[int]:
    """Wait for the playback just asked for to start and end; what the speaker got."""
    await wait_for(pilot, lambda: panel.playing, what="playing")
    await wait_for(pilot, lambda: not panel.playing, seconds=15, what="the end")
    rate, samples = read_wav_mono16(alsa.speaker)
    assert rate == RATE
    return samples


async def half_a_second_in(app: QaApp, pilot: Pilot[int]) -> Playback:
    """The recorded call opened and ``p`` pressed: its playback, half a second in."""
    panel = await open_call(app, pilot)
    await pilot.press("p")
    await wait_for(pilot, lambda: panel.playback is not None and panel.playback.position > 0.5)
    assert panel.playback is not None
    return panel.playback


async def audited(path: Path) -> list[str]:
    store = await Store.open(path)
    try:
        rows = await store.fetch_all(
            "SELECT outcome FROM audit WHERE action = 'record_play' AND agent_id = 'sam' "
            "ORDER BY seq"
        )
    finally:
        await store.close()
    return [str(row[0]) for row in rows]


@pytest.fixture
async def recorded(tmp_path: Path) -> tuple[Path, QaApp]:
    """The store of :func:`recorded_week` and ``careline qa`` on it as the evaluator."""
    path, directory = await recorded_week(tmp_path)
    return path, qa(path, directory)


@pytest.fixture
def speaker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> VirtualAlsa:
    """This process's sound device: the virtual one, writing what it plays to a WAV."""
    alsa = make_virtual_alsa(tmp_path / "alsa", mic_seconds=1)
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(alsa.asoundrc))
    return alsa


@pytest.mark.realtime
async def test_the_evaluator_plays_jumps_and_speeds_up_the_recording(
    recorded: tuple[Path, QaApp], speaker: VirtualAlsa
) -> None:
    path, app = recorded
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        panel = await open_call(app, pilot)
        assert "p plays/stops · f 1x/1.5x · j jumps to a moment" in screen_text(app)
        await pilot.press("p")
        samples = await played(pilot, panel, speaker)
        assert abs(len(samples) / RATE - SECONDS) < 0.4, len(samples) / RATE
        assert abs(dominant_frequency(samples[:RATE], RATE) - 1000) < 15
        assert abs(dominant_frequency(samples[-RATE:], RATE) - 500) < 15
        text = screen_text(app)
        assert "[0] 00:01 pause ([b]verify[/b])" in text  # the mark's text, not markup
        assert "[1] 00:02 red_flag" in text

        await pilot.press("j")
        await wait_for(pilot, lambda: isinstance(app.screen, MomentPicker), what="the moments")
        assert "[1] 00:02 red_flag" in screen_text(app)
        await pilot.press("1")  # from the red flag: only the second tone
        samples = await played(pilot, panel, speaker)
        assert abs(len(samples) / RATE - 2.0) < 0.4, len(samples) / RATE
        assert abs(dominant_frequency(samples, RATE) - 500) < 15

        await pilot.press("f", "j")
        await wait_for(pilot, lambda: isinstance(app.screen, MomentPicker), what="the moments")
        await pilot.press("1")
        samples = await played(pilot, panel, speaker)
        assert abs(len(samples) / RATE - 2.0 / 1.5) < 0.4, len(samples) / RATE
        assert abs(dominant_frequency(samples, RATE) - 500) < 15  # the pitch kept
        assert "speed 1.5x" in screen_text(app)
    # Opened and played, then played twice more: one row each, as the command writes.
    assert await audited(path) == ["ok", "ok", "ok"]


@pytest.mark.realtime
async def test_leaving_the_screen_or_quitting_stops_the_audio(
    recorded: tuple[Path, QaApp], speaker: VirtualAlsa
) -> None:
    _, app = recorded
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        playback = await half_a_second_in(app, pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen), what="the queue")
        assert playback.wait(1.0), "still playing after the screen was left"
        rate, samples = read_wav_mono16(speaker.speaker)
        assert len(samples) / rate < 2.0  # of four seconds

        playback = await half_a_second_in(app, pilot)
    assert playback.wait(1.0), "still playing after quitting"
    rate, samples = read_wav_mono16(speaker.speaker)
    assert len(samples) / rate < 2.0


async def test_a_wrong_or_missing_key_file_or_recording_is_said_and_audited(
    tmp_path: Path, speaker: VirtualAlsa
) -> None:
    path, directory = await recorded_week(tmp_path)
    key_file = directory / KEY_FILE
    key = key_file.read_bytes()
    app = qa(path, directory)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        panel = await open_call(app, pilot)

        def file_gone() -> None:
            key_file.write_bytes(key)
            key_file.chmod(0o600)
            next(directory.glob("*.clrec")).unlink()

        def wrong_key() -> None:
            key_file.write_bytes(bytes(32))  # another key

        cases: tuple[tuple[Callable[[], object], str], ...] = (
            (wrong_key, "failed authentication"),
            (key_file.unlink, "no recordings key here"),
            (file_gone, "its file is gone"),
        )
        for spoil, said in cases:
            spoil()
            await pilot.press("p")
            await wait_for(pilot, functools.partial(shows_toast, app, said), what=said)
            assert "cannot play: " in screen_text(app)
            assert not panel.playing
            assert panel.opened is None
        assert key_file.read_bytes() == key  # never made anew by playing
        await pilot.press("escape")
        panel = await open_call(app, pilot, "down")  # a sampled call: never recorded
        assert "Recording: none for this call" in screen_text(app)
        await pilot.press("p")
        said = "no such recording here (deleted, or never made)"
        await wait_for(pilot, lambda: shows_toast(app, said), what="not recorded")
    assert await audited(path) == ["fail"] * 4
    assert not speaker.speaker.exists()  # nothing reached the device


async def test_no_sound_device_is_said_after_the_recording_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, directory = await recorded_week(tmp_path)
    monkeypatch.setenv("ALSA_CONFIG_PATH", make_no_sound(tmp_path / "none")["ALSA_CONFIG_PATH"])
    app = qa(path, directory)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        panel = await open_call(app, pilot)
        await pilot.press("p")
        said = "no sound device with a speaker/headphone (output)"
        await wait_for(pilot, lambda: shows_toast(app, said), what="no device")
        assert not panel.playing
        assert "[1] 00:02 red_flag" in screen_text(app)  # the timeline is still there
    assert await audited(path) == ["ok"]


async def test_the_hub_s_recordings_need_the_qa_private_key_and_the_hub(tmp_path: Path) -> None:
    connect = hub_connector("host=127.0.0.1 port=1 dbname=none", None)  # nothing listens
    with pytest.raises(ConfigError, match=r"set recording\.qa_private_key"):
        hub_opener(connect, None, "a-call")
    loose = tmp_path / "loose.pem"
    loose.write_text("not a key")
    loose.chmod(0o644)
    with pytest.raises(ConfigError, match="must be yours and mode 0600"):
        hub_opener(connect, loose, "a-call")
    new_key_pair(tmp_path / "qa.pem", tmp_path / "qa.pub")
    store = await Store.open(tmp_path / "sam.sqlite3")
    try:
        opener = hub_opener(connect, tmp_path / "qa.pem", "a-call")
        with pytest.raises(PlaybackError, match="hub unreachable"):
            await open_audited(AuditLog(store), "sam", "a-call", opener)
    finally:
        await store.close()
    assert await audited(tmp_path / "sam.sqlite3") == ["fail"]
