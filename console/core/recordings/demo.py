# SPDX-License-Identifier: GPL-2.0-or-later
"""The demo's recorded queue: appointments, announced with a short chime, kept a day.

The demo's recordings and their key live apart from a real console's
(``demo-recordings`` in the user data directory); ``careline recordings list
--demo`` and ``play --demo`` read them with the demo's store.
"""

from __future__ import annotations

import array
import math
import wave
from pathlib import Path

from console.core.config.recording import QueueRecordingConfig, RecordingConfig

DEMO_QUEUE = "appointments"
"""The demo queue whose calls are recorded (the third demo caller's)."""
DEMO_DIRECTORY = "demo-recordings"
"""The demo's recordings, in the user data directory."""
CHIME = ((660.0, 0.35), (880.0, 0.35), (0.0, 0.3))
"""The announcement: two notes and a breath (Hz, seconds; 0 Hz is silence)."""
RATE = 16000


def write_chime(path: Path) -> None:
    """The demo's announcement, a 16-bit mono WAV (no words: the demo has no voice)."""
    samples = array.array("h")
    for hz, seconds in CHIME:
        step = 2 * math.pi * hz / RATE
        samples.extend(int(6000 * math.sin(step * i)) for i in range(int(RATE * seconds)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())


def demo_recording(data: Path) -> RecordingConfig:
    """The demo's recording settings, its announcement written under ``data`` first."""
    directory = data / DEMO_DIRECTORY
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    chime = directory / "announcement.wav"
    if not chime.exists():
        write_chime(chime)
    queue = QueueRecordingConfig(mode="announce", announcement=chime, retention_days=1)
    return RecordingConfig(directory=directory, queues={DEMO_QUEUE: queue})
