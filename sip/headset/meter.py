# SPDX-License-Identifier: GPL-2.0-or-later
"""Level metering of 16-bit PCM blocks, in dBFS."""

from __future__ import annotations

import array
import collections
import math

__all__ = ["SILENCE_DBFS", "LevelMeter", "dbfs"]

SILENCE_DBFS = -96.0
"""Level reported for digital silence (the floor of 16-bit audio)."""


class LevelMeter:
    """Recent peak and RMS level of 16-bit blocks, in dBFS.

    ``add`` runs on an audio thread (appends to a bounded deque); readers on
    other threads only take a snapshot of it.
    """

    def __init__(self, blocks: int = 25) -> None:
        self._blocks: collections.deque[tuple[int, float, int]] = collections.deque(maxlen=blocks)
        self.peak_ever = 0
        """Highest sample magnitude since creation."""

    def add(self, pcm: bytes | memoryview) -> None:
        """Measure one block of 16-bit native-endian mono samples."""
        samples = array.array("h")
        samples.frombytes(pcm)
        if not samples:
            return
        peak = max(max(samples), -min(samples))
        if peak > self.peak_ever:
            self.peak_ever = peak
        self._blocks.append((peak, float(sum(x * x for x in samples)), len(samples)))

    def peak_dbfs(self) -> float:
        """Peak of the recent blocks (about half a second)."""
        recent = list(self._blocks)
        return dbfs(max((b[0] for b in recent), default=0))

    def rms_dbfs(self) -> float:
        """RMS of the recent blocks."""
        recent = list(self._blocks)
        count = sum(b[2] for b in recent)
        if not count:
            return SILENCE_DBFS
        return dbfs(math.sqrt(sum(b[1] for b in recent) / count))

    def peak_ever_dbfs(self) -> float:
        """Highest peak since creation."""
        return dbfs(self.peak_ever)


def dbfs(magnitude: float) -> float:
    """A 16-bit sample magnitude in dBFS, rounded to 0.1 dB, floored at -96."""
    if magnitude <= 0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, round(20.0 * math.log10(magnitude / 32768.0), 1))
