# SPDX-License-Identifier: GPL-2.0-or-later
"""Where a recorded call's audio goes: a conference-bridge port and a writer thread.

Every 20 ms pjmedia's conference bridge (on the null sound device's clock
thread) hands the port the mix of what is connected to it -- the patient's
audio and the agent's voice. The port puts each frame, or silence while the
recording is paused or the call held, on a queue, and takes no lock, makes
no pjsua2 call, logs nothing and never raises into pjmedia (as the headset
port). A thread of its own encrypts about a second at a time and appends it to
the file (:class:`sip.recording_file.RecordingWriter`), so a slow or full disk
never stalls the bridge or the engine thread.

The bridge sends the port a frame every tick even when nothing is connected
to it (an empty "heart-beat" frame), so the file's clock is the call's: a
second in the file is a second of the call, silence included.
"""

from __future__ import annotations

import errno
import functools
import queue
import threading
from pathlib import Path
from typing import Any

from sip.engine_log import logger
from sip.headset.frames import FRAME_MS
from sip.headset.port import vector_reader
from sip.protocol import utc_now_iso
from sip.recording_file import RecordingWriter

log = logger(__name__)

CHUNK_FRAMES = 50
"""Frames encrypted and written together (1 s): what a killed engine can lose at most."""
STOP_SECONDS = 3.0
"""How long stopping waits for the writer to write the last chunk."""

Item = bytes | dict[str, Any] | None
"""On the writer's queue: a frame, a mark, or None (the end)."""


@functools.cache
def recording_port_class() -> type:
    """The ``pj.AudioMediaPort`` subclass, defined on first use (pjsua2 loads lazily)."""
    import pjsua2 as pj

    read_vector = vector_reader()

    class RecordingPort(pj.AudioMediaPort):  # type: ignore[misc]
        """A sink in the conference bridge: each frame it gets goes on the writer's queue."""

        def __init__(self, frames: queue.SimpleQueue[Item], frame_bytes: int) -> None:
            super().__init__()
            self.frames = frames
            self.frame_bytes = frame_bytes
            self.silence = bytes(frame_bytes)
            self.live = False
            """True while the call is recorded (set by the engine thread); else silence."""
            self.errors = 0
            """Callbacks that failed (counted, never raised into pjmedia)."""

        def onFrameRequested(self, frame: Any) -> None:  # noqa: N802 - pjsua2 API name
            """Nobody listens to this port; a request gets no audio."""
            frame.type = pj.PJMEDIA_FRAME_TYPE_NONE

        def onFrameReceived(self, frame: Any) -> None:  # noqa: N802 - pjsua2 API name
            """One tick of the call: its mix while live, else silence (a heart-beat too)."""
            try:
                data = self.silence
                if self.live and frame.size == self.frame_bytes:
                    data = read_vector(frame.buf)
                    if len(data) != self.frame_bytes:
                        data = self.silence
                self.frames.put(data)
            except Exception:  # never unwind into pjmedia
                self.errors += 1

    return RecordingPort


def disk_error(exc: OSError) -> str:
    """Why the disk refused, in words for the agent (no path, no audio)."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EDQUOT:
        return "the disk quota is used up"
    return f"the disk refused the recording ({exc.strerror or type(exc).__name__})"


class RecordingSink:
    """One call's recording on its way to disk: create on the engine thread, after ``libStart``.

    Raises OSError when the file cannot be created; nothing stays open then.
    """

    def __init__(self, path: Path, key: bytes, *, call_id: str, clock_rate: int) -> None:
        import pjsua2 as pj

        self.frame_bytes = clock_rate * FRAME_MS // 1000 * 2
        self.clock_rate = clock_rate
        self.path = path
        self._frames: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._writer = RecordingWriter(
            path, key, call_id=call_id, sample_rate=clock_rate, created=utc_now_iso()
        )
        self.samples = 0
        """Samples written so far (writer thread)."""
        self.error: str | None = None
        """Why writing stopped early (the disk), or None."""
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, clock_rate, 1, FRAME_MS * 1000, 16)
        port = recording_port_class()(self._frames, self.frame_bytes)
        try:
            port.createPort(f"rec-{call_id[:8]}", fmt)
        except pj.Error as exc:
            self._writer.close()
            raise OSError(f"the recording cannot join the call audio: {exc.reason}") from None
        self._port: Any = port
        self._thread = threading.Thread(target=self._run, name="recording-writer", daemon=True)
        self._thread.start()

    @property
    def port(self) -> Any:
        """The conference-bridge port to connect the call's audio and the agent's voice to."""
        return self._port

    def live(self, on: bool) -> None:
        """Record what the port gets (True), or silence (paused, held)."""
        if self._port is not None:
            self._port.live = on

    def mark(self, fact: str, **details: Any) -> None:
        """Put a mark on the recording's timeline, at the point the audio has reached."""
        self._frames.put({"fact": fact, "at": utc_now_iso(), **details})

    def stop(self, summary: dict[str, Any]) -> bool:
        """Leave the bridge, write the rest and the end chunk; True once all is on disk.

        Engine thread: the port goes here, before ``libDestroy``.
        """
        self._port = None  # leaves the conference bridge: no frame after this one
        self._frames.put({"fact": "end", "at": utc_now_iso(), **summary})
        self._frames.put(None)
        self._thread.join(STOP_SECONDS)
        return not self._thread.is_alive() and self.error is None

    @property
    def bytes_written(self) -> int:
        """Bytes of the file so far."""
        return self._writer.bytes_written

    def _run(self) -> None:
        """The writer thread: gather a chunk, encrypt it, append it; marks in between."""
        pending = bytearray()
        chunk_bytes = CHUNK_FRAMES * self.frame_bytes
        while True:
            item = self._frames.get()
            if item is None:
                break
            if self.error is not None:
                continue  # drained and dropped: the disk refused
            try:
                if isinstance(item, bytes):
                    pending += item
                    if len(pending) >= chunk_bytes:
                        self._flush(pending)
                elif item.get("fact") == "end":
                    self._flush(pending)
                    item["samples"] = self.samples
                    self._writer.end(item)
                else:
                    self._flush(pending)
                    self._writer.mark({**item, "sample": self.samples})
            except OSError as exc:
                self.error = disk_error(exc)
                log.warning("recording stopped: %s", self.error)
                self._writer.close()
            except Exception:  # the thread must drain its queue whatever happens
                log.exception("recording writer failed")
                self.error = "the recording could not be written"
                self._writer.close()
        self._writer.close()

    def _flush(self, pending: bytearray) -> None:
        if pending:
            self._writer.audio(bytes(pending))
            self.samples += len(pending) // 2
            pending.clear()
