"""Where the two clocks meet: a bounded queue of 20 ms frames per direction.

pjmedia's conference bridge and PortAudio's sound card each run on their own
clock and neither may wait for the other, so each direction of the headset
(speaker: conference -> device; mic: device -> conference) is one
:class:`FrameQueue`:

- it holds at most ``capacity`` frames; when full the oldest frame is dropped
  (an *overrun*), when empty the reader gets silence (an *underrun*), so a
  slow or fast card never lets the delay grow past the buffer;
- the reader also trims a queue that stays deeper than one frame for a
  second (clock drift and start-up bursts would otherwise add delay for the
  rest of the call).
"""

from __future__ import annotations

import collections
import contextlib
import time

__all__ = ["ACTIVE_SECONDS", "FRAME_MS", "TRIM_BLOCKS", "FrameQueue"]

FRAME_MS = 20
"""Frame length of the conference bridge and of every PortAudio block."""
ACTIVE_SECONDS = 0.2
"""A queue's other side counts as running if it touched the queue this recently."""
TRIM_BLOCKS = 50
"""A queue whose depth stayed above one frame for this many reads (1 s) is trimmed."""


class FrameQueue:
    """One direction of the bridge: bounded FIFO of equal-size frames.

    One thread puts, one thread takes; ``collections.deque`` makes each
    operation atomic, and every counter has a single writer.
    """

    def __init__(self, frame_bytes: int, capacity: int) -> None:
        self.frame_bytes = frame_bytes
        """Size of every frame (20 ms of 16-bit mono at the stream's rate)."""
        self.silence = bytes(frame_bytes)
        """What a read of an empty queue returns (made once: reads run every 20 ms)."""
        self.capacity = capacity
        """Most frames held; the buffer in frames."""
        self._frames: collections.deque[bytes] = collections.deque()
        self.overruns = 0
        """Frames dropped because the queue was full while the reader was running."""
        self.underruns = 0
        """Reads that found the queue empty while the writer was running."""
        self.trimmed = 0
        """Frames dropped to bring a persistently deep queue back to one frame."""
        self._last_put = 0.0
        self._last_take = 0.0
        self._deep_reads = 0

    def put(self, frame: bytes) -> None:
        """Append a frame; drop the oldest when full (writer thread)."""
        now = time.monotonic()
        self._last_put = now
        if len(self._frames) >= self.capacity:
            with contextlib.suppress(IndexError):
                self._frames.popleft()
            if now - self._last_take < ACTIVE_SECONDS:
                self.overruns += 1
        self._frames.append(frame)

    def take(self) -> bytes:
        """The oldest frame, or silence when empty (reader thread)."""
        now = time.monotonic()
        if now - self._last_take > ACTIVE_SECONDS:
            # The reader was away (no call, held): what queued meanwhile is
            # stale and would delay everything after it.
            while len(self._frames) > 1:
                self._frames.popleft()
        self._last_take = now
        depth = len(self._frames)
        self._deep_reads = self._deep_reads + 1 if depth > 1 else 0
        if self._deep_reads >= TRIM_BLOCKS:
            self._deep_reads = 0
            self._frames.popleft()
            self.trimmed += 1
        try:
            return self._frames.popleft()
        except IndexError:
            if now - self._last_put < ACTIVE_SECONDS:
                self.underruns += 1
            return self.silence

    def last_taken(self) -> float:
        """``time.monotonic()`` of the reader's latest take (0: never)."""
        return self._last_take

    def depth_ms(self) -> int:
        """Audio currently queued."""
        return len(self._frames) * FRAME_MS
