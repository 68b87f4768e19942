# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent's headset: a conference-bridge port joined to a sound device.

Every 20 ms pjmedia's conference bridge (on the null sound device's clock
thread) hands the port the mix the agent should hear and asks for what the
agent says; PortAudio plays and records on the card's own thread. The two
meet in a :class:`FrameQueue` per direction, and a :class:`LevelMeter` per
direction measures what passes.

The port is created at the bridge's clock rate when the devices accept it
(ALSA's ``plug`` converts anything); otherwise at the device's own rate, and
the conference bridge resamples that port natively.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sip.headset.devices import rescan_devices, resolve_device, stream_rate
from sip.headset.errors import HeadsetError
from sip.headset.frames import FRAME_MS, FrameQueue
from sip.headset.meter import LevelMeter
from sip.headset.port import headset_port_class
from sip.headset.stream import DeviceStream, open_stream
from sip.settings import HeadsetSettings

if TYPE_CHECKING:
    import pjsua2 as pj

__all__ = ["STALL_SECONDS", "Headset"]

STALL_SECONDS = 2.0
"""A device whose callback has not run for this long has stopped (see Headset.healthy)."""


def _direction_facts(queue: FrameQueue | None, level: LevelMeter) -> dict[str, Any]:
    """One direction's queue depth, drops and level, for :meth:`Headset.describe`."""
    return {
        "queued_ms": queue.depth_ms() if queue else 0,
        "underruns": queue.underruns if queue else 0,
        "overruns": queue.overruns if queue else 0,
        "trimmed": queue.trimmed if queue else 0,
        "peak_dbfs": level.peak_dbfs(),
        "rms_dbfs": level.rms_dbfs(),
    }


class Headset:
    """The agent's headset as a conference-bridge port (create and use on the engine thread)."""

    def __init__(self, settings: HeadsetSettings, *, clock_rate: int | None = None) -> None:
        """``clock_rate``: the conference bridge's rate (default: pjsua's default media rate)."""
        self.settings = settings
        """Devices and buffer, as configured (``audio.headset``)."""
        self._clock_rate = clock_rate
        self._port: Any = None
        self._stream: DeviceStream | None = None
        self._speaker: FrameQueue | None = None
        self._mic: FrameQueue | None = None
        self._output: dict[str, Any] = {}
        self._input: dict[str, Any] = {}
        self._opened_at = 0.0
        self.speaker_level = LevelMeter()
        """What the agent hears (blocks handed to the device)."""
        self.mic_level = LevelMeter()
        """What the microphone picks up."""

    def open(self) -> None:
        """Create the port and start the device (engine thread, after ``libStart``).

        Raises :class:`HeadsetError` with a message for the agent; nothing
        stays open after a failure.
        """
        import pjsua2 as pj

        if self._port is not None:
            return
        rescan_devices()
        self._output = resolve_device(self.settings.output_device, "output")
        self._input = resolve_device(self.settings.input_device, "input")
        bridge_rate = self._clock_rate or int(pj.EpConfig().medConfig.clockRate)
        rate = stream_rate(self._output, self._input, bridge_rate)
        frame_bytes = rate * FRAME_MS // 1000 * 2
        capacity = max(1, self.settings.buffer_ms // FRAME_MS)
        speaker = FrameQueue(frame_bytes, capacity)
        mic = FrameQueue(frame_bytes, capacity)
        speaker_level, mic_level = self.speaker_level, self.mic_level

        def play(out: memoryview) -> None:
            data = speaker.take()
            out[: len(data)] = data
            speaker_level.add(data)

        def record(data: bytes) -> None:
            mic.put(data)
            mic_level.add(data)

        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, rate, 1, FRAME_MS * 1000, 16)
        port = headset_port_class()(speaker, mic)
        try:
            port.createPort("headset", fmt)
        except pj.Error as exc:
            raise HeadsetError(
                f"the headset port cannot join the call audio: {exc.reason}"
            ) from None
        try:
            self._stream = open_stream(self._output, self._input, rate, play, record)
        except Exception as exc:
            # Drop the port here, on the engine thread: a traceback keeping it
            # alive past libDestroy() would abort the engine (DESIGN.md).
            del port
            if isinstance(exc, HeadsetError):
                raise
            raise HeadsetError(f"the sound device failed to start: {exc}") from None
        self._speaker, self._mic, self._port = speaker, mic, port
        self._opened_at = time.monotonic()

    @property
    def port(self) -> pj.AudioMedia:
        """The conference-bridge port.

        ``call_audio.startTransmit(port)``: the agent hears the call;
        ``port.startTransmit(call_audio)``: the agent is heard.
        """
        if self._port is None:
            raise HeadsetError("the headset is not open")
        return self._port

    def describe(self) -> dict[str, Any]:
        """Plain, JSON-able state: devices, rate, latency, buffer, drops and levels."""
        speaker, mic, stream = self._speaker, self._mic, self._stream
        return {
            "open": self._port is not None and stream is not None,
            "output_device": self._output.get("name", ""),
            "input_device": self._input.get("name", ""),
            "sample_rate": stream.rate if stream else 0,
            "device_latency_ms": dict(stream.latency_ms) if stream else {},
            "buffer_ms": self.settings.buffer_ms,
            "speaker": _direction_facts(speaker, self.speaker_level),
            "mic": _direction_facts(mic, self.mic_level),
            "port_errors": int(getattr(self._port, "errors", 0)),
        }

    def healthy(self, now: float | None = None) -> bool:
        """False once the device stopped playing (unplugged, a driver error): its
        callback takes a frame every 20 ms while the stream runs."""
        if self._stream is None or self._speaker is None:
            return False
        now = time.monotonic() if now is None else now
        last = max(self._speaker.last_taken(), self._opened_at)
        active = all(bool(getattr(s, "active", True)) for s in self._stream.streams)
        return active and now - last < STALL_SECONDS

    def close(self) -> None:
        """Stop the device and drop the port (before ``libDestroy``); safe to repeat."""
        if self._stream is not None:
            self._stream.stop()
            self._stream = None
        self._port = None
