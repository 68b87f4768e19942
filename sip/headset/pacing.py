# SPDX-License-Identifier: GPL-2.0-or-later
"""Real-time pacing for sound devices that have no clock of their own."""

from __future__ import annotations

import time

__all__ = ["RealTimeGuard"]


class RealTimeGuard:
    """Holds a clockless device's callback to real time.

    A sound card consumes and produces samples at its crystal's pace; ALSA's
    ``null``/``file`` devices have no pace and PortAudio would call back as
    fast as the CPU allows (measured: ~36,000 callbacks per second), filling
    disks and starving the queues. When the frames handled run ahead of the
    wall clock by more than ``slack`` seconds the callback sleeps the excess
    off. A real card never gets that far ahead; drift between its crystal and
    the system clock is forgiven by re-anchoring every minute while it is
    well within the slack.
    """

    def __init__(self, rate: int, slack: float = 0.2) -> None:
        self.rate = rate
        """Frames per second the device is opened at."""
        self.slack = slack
        """Seconds the device may run ahead of the wall clock before it is held back."""
        self.paced = 0
        """How many callbacks had to wait (non-zero: the device has no clock)."""
        self._start = 0.0
        self._frames = 0

    def __call__(self, frames: int) -> None:
        """Account for ``frames`` handled by this callback; sleep if far ahead."""
        now = time.monotonic()
        if not self._start:
            self._start = now
        self._frames += frames
        ahead = self._frames / self.rate - (now - self._start)
        if ahead > self.slack:
            # Sleep only the excess: the device then runs one block per
            # block time, as smoothly as a card would.
            self.paced += 1
            time.sleep(ahead - self.slack)
        elif now - self._start > 60 and ahead < self.slack / 2:
            self._start, self._frames = now, 0
