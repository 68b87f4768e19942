# SPDX-License-Identifier: GPL-2.0-or-later
"""The demo's recorded queue: its announcement is written and valid, and the demo's
recordings are listed apart from a real console's (``--demo``)."""

from __future__ import annotations

import wave
from pathlib import Path

from console.core.recordings.demo import DEMO_QUEUE, demo_recording
from tests.careline_cli import careline


def test_the_demo_records_its_appointments_line_with_a_chime(tmp_path: Path) -> None:
    config = demo_recording(tmp_path)
    queue = config.for_queue(DEMO_QUEUE)
    assert queue.mode == "announce"
    assert config.for_queue("refills").mode == "off"
    assert queue.announcement is not None
    with wave.open(str(queue.announcement), "rb") as chime:
        assert (chime.getsampwidth(), chime.getnchannels()) == (2, 1)
        assert 0.5 < chime.getnframes() / chime.getframerate() < 2.0
    assert demo_recording(tmp_path) == config  # written once, the same every launch


def test_recordings_list_demo_reads_the_demos_store(isolated_home: Path) -> None:
    listed = careline("recordings", "list", "--demo")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "call\tqueue\tmode\tstate\tstarted\tseconds\tretention_days"
    ]
    assert (isolated_home / "xdg_data_home" / "careline" / "demo.sqlite3").exists()
