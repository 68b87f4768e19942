# SPDX-License-Identifier: GPL-2.0-or-later
"""The ``recording:`` section: off unless a queue says so, and clear errors when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.core.config import ConfigError, load_config
from console.core.engine_settings import build_engine_settings
from tests.audio_tone import write_tone_wav


def test_nothing_is_recorded_by_default() -> None:
    config = load_config(environ={})
    assert not config.recording.any_recorded
    assert config.recording.for_queue("billing").mode == "off"
    assert config.recording.for_queue("billing").pause_forms == ["verify"]
    assert build_engine_settings(config, environ={}).recording.queues == ()


def test_queues_reach_the_engine_with_their_announcement(tmp_path: Path) -> None:
    wav = tmp_path / "announce.wav"
    write_tone_wav(wav, 800, 0.5)
    path = tmp_path / "c.yaml"
    path.write_text(
        f"store:\n  path: {tmp_path / 'store.sqlite3'}\n"
        "recording:\n  queues:\n"
        f"    appointments:\n      mode: announce\n      announcement: {wav}\n"
        "      retention_days: 30\n      pause_forms: [verify, keypad]\n"
        "    billing:\n      mode: off\n"
        "    '*':\n      mode: consent\n"
    )
    config = load_config(path, environ={})
    assert config.recording.for_queue("appointments").retention_days == 30
    assert config.recording.for_queue("billing").mode == "off"  # a bare YAML off
    assert config.recording.for_queue("refills").mode == "consent"
    engine = build_engine_settings(config, environ={}).recording
    assert engine.directory == str(tmp_path / "recordings")
    assert [(q.queue, q.mode, q.announcement) for q in engine.queues] == [
        ("appointments", "announce", str(wav)),
        ("*", "consent", ""),
    ]


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ("mode: always", "recording.queues.q.mode: Input should be 'off', 'announce' or 'consent'"),
        ("mode: announce", "mode announce needs an announcement"),
        ("mode: consent\n      announcement: /nowhere.wav", "no such file: /nowhere.wav"),
        ("mode: consent\n      retention_days: 0", "retention_days: Input should be greater"),
        ("mode: consent\n      pause_form: [verify]", "pause_form: unknown setting"),
        ("mode: consent\n      pause_forms: [payment]", "Input should be 'verify' or 'keypad'"),
    ],
)
def test_a_wrong_queue_is_one_clear_message(tmp_path: Path, queue: str, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"recording:\n  queues:\n    q:\n      {queue}\n")
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")) as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)


def test_an_announcement_that_is_not_audio_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "announce.wav"
    fake.write_text("not audio")
    path = tmp_path / "c.yaml"
    path.write_text(
        f"recording:\n  queues:\n    q:\n      mode: announce\n      announcement: {fake}\n"
    )
    with pytest.raises(ConfigError, match="is not a WAV file"):
        load_config(path, environ={})
