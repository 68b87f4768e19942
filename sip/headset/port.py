# SPDX-License-Identifier: GPL-2.0-or-later
"""The conference-bridge side of the headset: a pjsua2 port fed by two frame queues.

pjsua2 is imported on first use only, so the CLI and the doctor can list and
test devices without loading the SIP library. The port's callbacks run on
pjmedia's clock thread: they only take from and put to the queues, take no
lock, make no pjsua2 call beyond building the frame, log nothing, and never
let an exception unwind into pjmedia.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

from sip.headset.frames import FrameQueue

__all__ = ["headset_port_class", "vector_reader"]


def vector_reader() -> Callable[[Any], bytes]:
    """The fastest way to copy a pjsua2 ``ByteVector`` into ``bytes``.

    SWIG iterates a ``std::vector<unsigned char>`` element by element
    (~0.6 ms per 20 ms frame). libstdc++ lays a vector out as begin/end
    pointers, so the bytes can be copied in one go; the layout is checked once
    against the slow path and the slow path is kept if it does not match.
    """
    import pjsua2 as pj

    def slow(vector: Any) -> bytes:
        return bytes(vector)

    def fast(vector: Any) -> bytes:
        begin, end = ctypes.cast(int(vector.this), ctypes.POINTER(ctypes.c_void_p * 2)).contents
        if not begin or not end:
            return b""
        return ctypes.string_at(begin, end - begin)

    if sys.platform != "linux":
        return slow
    probe = pj.ByteVector(bytes(range(256)) * 3)
    try:
        if fast(probe) == slow(probe):
            return fast
    except Exception:
        pass
    return slow


_port_class: type | None = None


def headset_port_class() -> type:
    """The ``pj.AudioMediaPort`` subclass, defined on first use (pjsua2 loads lazily)."""
    global _port_class
    if _port_class is not None:
        return _port_class
    import pjsua2 as pj

    read_vector = vector_reader()
    audio_frame = pj.PJMEDIA_FRAME_TYPE_AUDIO

    class HeadsetPort(pj.AudioMediaPort):  # type: ignore[misc]
        """Conference-bridge port whose audio is the two queues (pjmedia clock thread)."""

        def __init__(self, speaker: FrameQueue, mic: FrameQueue) -> None:
            super().__init__()
            self.speaker = speaker
            self.mic = mic
            self.errors = 0
            """Callbacks that failed (counted, never raised into pjmedia)."""

        def onFrameRequested(self, frame: Any) -> None:  # noqa: N802 - pjsua2 API name
            """Hand the bridge what the agent says: the oldest microphone frame."""
            try:
                data = self.mic.take()
                frame.type = audio_frame
                frame.buf = pj.ByteVector(data)
                frame.size = len(data)
            except Exception:  # never unwind into pjmedia
                self.errors += 1

        def onFrameReceived(self, frame: Any) -> None:  # noqa: N802 - pjsua2 API name
            """Queue what the agent should hear; anything but a whole frame is dropped."""
            try:
                data = read_vector(frame.buf)
                if len(data) == self.speaker.frame_bytes:
                    self.speaker.put(data)
            except Exception:
                self.errors += 1

    _port_class = HeadsetPort
    return HeadsetPort
