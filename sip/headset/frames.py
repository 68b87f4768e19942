# SPDX-License-Identifier: GPL-2.0-or-later
"""Where the two clocks meet: a bounded queue of 20 ms frames per direction.

pjmedia's conference bridge and PortAudio's sound card each run on their own
clock and neither may wait for the other, so each direction of the headset
(speaker: conference -> device; mic: device -> conference) is one
:class:`FrameQueue`. Both sides tick every 20 ms, but nothing keeps their
phases apart: as the load changes, one thread's tick drifts across the
other's. A reader that takes each frame the moment it is queued would then
find the queue empty now and then, and the agent would hear 20 ms of silence.
So the queue plays out with a cushion:

- the reader starts (and, after running dry, starts again) only once
  :attr:`FrameQueue.target` frames are queued, one frame more than it takes,
  so a tick that lands up to a frame late on either side is never heard;
- it holds at most ``capacity`` frames; when full the oldest frame is dropped
  (an *overrun*);
- the reader trims one frame when the queue never fell to its target for a
  whole second (clock drift and start-up bursts would otherwise add delay for
  the rest of the call), and drops stale frames when it comes back after a
  pause (no call, held);
- a read of an empty queue is silence; a silence shorter than
  :data:`GAP_SECONDS` inside a running stream is a drop-out and counted as
  *underruns*, a longer one is a pause (a hold, the far end stopped sending).
"""

from __future__ import annotations

import collections
import contextlib
import time
from collections.abc import Callable

__all__ = [
    "ACTIVE_SECONDS",
    "CUSHION_FRAMES",
    "FRAME_MS",
    "GAP_SECONDS",
    "TRIM_BLOCKS",
    "FrameQueue",
]

FRAME_MS = 20
"""Frame length of the conference bridge and of every PortAudio block."""
ACTIVE_SECONDS = 0.2
"""A queue's other side counts as running if it touched the queue this recently."""
TRIM_BLOCKS = 50
"""Reads (1 s) over which a queue that never fell to its target is trimmed by one frame."""
CUSHION_FRAMES = 1
"""Frames queued beyond the one being taken: the jitter the queue absorbs (20 ms)."""
GAP_SECONDS = 0.5
"""A silence shorter than this inside a running stream is a drop-out, not a pause."""


class FrameQueue:
    """One direction of the bridge: bounded FIFO of equal-size frames with a playout cushion.

    One thread puts, one thread takes; ``collections.deque`` makes each
    operation atomic, and every counter has a single writer.
    """

    def __init__(
        self, frame_bytes: int, capacity: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """``clock``: seconds, monotonic (a test's simulated clock)."""
        self._clock = clock
        self.frame_bytes = frame_bytes
        """Size of every frame (20 ms of 16-bit mono at the stream's rate)."""
        self.silence = bytes(frame_bytes)
        """What a read of an empty queue returns (made once: reads run every 20 ms)."""
        self.capacity = capacity
        """Most frames held; the buffer in frames."""
        self.target = min(capacity, 1 + CUSHION_FRAMES)
        """Frames the reader waits for before it plays (a buffer of one frame has no cushion)."""
        self._frames: collections.deque[bytes] = collections.deque()
        self.overruns = 0
        """Frames dropped because the queue was full while the reader was running."""
        self.underruns = 0
        """Silent reads inside drop-outs (gaps shorter than :data:`GAP_SECONDS`)."""
        self.trimmed = 0
        """Frames dropped to bring a persistently deep queue back to its target."""
        self._last_put = 0.0
        self._last_take = 0.0
        self._priming = True
        self._gap_reads = 0
        self._gap_since = 0.0
        self._gap_in_stream = False
        self._playing = False
        self._window_reads = 0
        self._window_low = capacity

    def put(self, frame: bytes) -> None:
        """Append a frame; drop the oldest when full (writer thread)."""
        now = self._clock()
        self._last_put = now
        if len(self._frames) >= self.capacity:
            with contextlib.suppress(IndexError):
                self._frames.popleft()
            if now - self._last_take < ACTIVE_SECONDS:
                self.overruns += 1
        self._frames.append(frame)

    def take(self) -> bytes:
        """The oldest frame, or silence while the queue is empty or filling (reader thread)."""
        now = self._clock()
        if now - self._last_take > ACTIVE_SECONDS:
            # The reader was away (no call, held): what queued meanwhile is
            # stale and would delay everything after it.
            while len(self._frames) > self.target:
                self._frames.popleft()
        self._last_take = now
        self._trim_if_deep()
        if self._priming:
            if len(self._frames) < self.target:
                return self._silent(now)
            self._priming = False
        try:
            frame = self._frames.popleft()
        except IndexError:
            self._priming = True
            return self._silent(now)
        if self._gap_reads:
            if self._gap_in_stream and now - self._gap_since < GAP_SECONDS:
                self.underruns += self._gap_reads
            self._gap_reads = 0
        self._playing = True
        return frame

    def _trim_if_deep(self) -> None:
        """Drop one frame when the depth never fell to the target for a second (drift)."""
        self._window_low = min(self._window_low, len(self._frames))
        self._window_reads += 1
        if self._window_reads < TRIM_BLOCKS:
            return
        if self._window_low > self.target:
            with contextlib.suppress(IndexError):
                self._frames.popleft()
                self.trimmed += 1
        self._window_reads, self._window_low = 0, self.capacity

    def _silent(self, now: float) -> bytes:
        """A silent read; whether it was a drop-out is known when the frames return."""
        if not self._gap_reads:
            # Silence before the first frame (a call starting) is no drop-out.
            self._gap_since, self._gap_in_stream = now, self._playing
        self._gap_reads += 1
        self._playing = False
        return self.silence

    def last_taken(self) -> float:
        """Clock time of the reader's latest take (0: never)."""
        return self._last_take

    def depth_ms(self) -> int:
        """Audio currently queued."""
        return len(self._frames) * FRAME_MS
