"""The headset bridge: call audio to and from a PortAudio device (``sounddevice``).

Two clocks meet here. pjmedia's conference bridge runs on the null sound
device's clock thread: every 20 ms it hands this port the mix the agent should
hear (``onFrameReceived``) and asks for what the agent says
(``onFrameRequested``). PortAudio runs the sound card on its own callback
thread with the card's own crystal. Neither may wait for the other, so they
meet in two bounded queues of 20 ms frames:

- speaker: conference -> device; mic: device -> conference;
- each holds at most ``buffer_ms``; when full the oldest frame is dropped
  (an *overrun*), when empty the reader gets silence (an *underrun*), so a
  slow or fast card never lets the delay grow past ``buffer_ms``;
- the reader also trims a queue that stays deeper than one frame for a
  second (clock drift and start-up bursts would otherwise add delay for the
  rest of the call).

Both callbacks stay tiny: deque appends and pops (atomic under the GIL), a
level meter and counters. No lock is taken, no pjsua2 call is made and
nothing is logged from them; an exception never unwinds into pjsip or
PortAudio.

The port is created at the bridge's clock rate when the devices accept it
(ALSA's ``plug`` converts anything); otherwise at the device's own rate, and
the conference bridge resamples that port natively.

A device with no clock of its own (ALSA ``null``/``file``, used by the tests
on machines with no sound card) would run its callback as fast as the CPU
allows; the callback then holds it to real time (see :class:`RealTimeGuard`).
A real card never runs ahead of real time by more than its buffer, so the
guard never acts on one.

``sounddevice`` is imported lazily: the engine starts without
``libportaudio2``; only opening the headset fails, with a message saying so.
pjsua2 is imported lazily too, so the CLI and the doctor can list devices
without loading the SIP library.
"""

from __future__ import annotations

import array
import collections
import contextlib
import ctypes
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sip.settings import HeadsetSettings

if TYPE_CHECKING:
    import pjsua2 as pj

__all__ = [
    "FRAME_MS",
    "Headset",
    "HeadsetError",
    "LevelMeter",
    "RealTimeGuard",
    "list_devices",
    "open_stream",
    "resolve_device",
    "stream_rate",
    "try_devices",
]

FRAME_MS = 20
"""Frame length of the conference bridge and of every PortAudio block."""
SILENCE_DBFS = -96.0
"""Level reported for digital silence (the floor of 16-bit audio)."""
_ACTIVE_SECONDS = 0.2
"""A queue's other side counts as running if it touched the queue this recently."""
STALL_SECONDS = 2.0
"""A device whose callback has not run for this long has stopped (see Headset.healthy)."""
_TRIM_BLOCKS = 50
"""A queue whose depth stayed above one frame for this many reads (1 s) is trimmed."""

Direction = Literal["output", "input"]


class HeadsetError(RuntimeError):
    """The headset cannot be used (message fit for the agent: which device, why, what to do)."""


# ------------------------------------------------------------------ devices
def _sounddevice() -> Any:
    """Import ``sounddevice`` (PortAudio) or say what to install."""
    try:
        import sounddevice  # type: ignore[import-untyped]
    except OSError as exc:  # the Python package is there, the C library is not
        raise HeadsetError(
            f"PortAudio is not installed ({exc}): run `apt install libportaudio2`, "
            "or use audio.mode: station"
        ) from None
    except ImportError as exc:
        raise HeadsetError(
            f"the sounddevice package is missing ({exc}): reinstall careline"
        ) from None
    return sounddevice


def check_portaudio() -> None:
    """Raise :class:`HeadsetError` saying what to install when PortAudio cannot load."""
    _sounddevice()


def _rescan_devices() -> None:
    """Make PortAudio list the devices afresh (it scans once, at initialisation), so
    a headset plugged in after the engine started is found. Only while no stream
    of this process is open: the engine opens one headset at a time."""
    with contextlib.suppress(Exception):
        sd = _sounddevice()
        sd._terminate()
        sd._initialize()


def list_devices() -> list[dict[str, Any]]:
    """Every PortAudio device: index, name, inputs, outputs, default flags, host API.

    ``[]`` when PortAudio is missing or sees no device; never raises.
    """
    try:
        sd = _sounddevice()
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = _defaults(sd)
    except Exception:
        return []
    rows: list[dict[str, Any]] = []
    for index, dev in enumerate(devices):
        hostapi = int(dev["hostapi"])
        rows.append(
            {
                "index": index,
                "name": str(dev["name"]),
                "inputs": int(dev["max_input_channels"]),
                "outputs": int(dev["max_output_channels"]),
                "default_input": index == default_in,
                "default_output": index == default_out,
                "default_samplerate": float(dev["default_samplerate"]),
                "hostapi": str(hostapis[hostapi]["name"]) if hostapi < len(hostapis) else "",
            }
        )
    return rows


def _defaults(sd: Any) -> tuple[int, int]:
    try:
        default_in, default_out = sd.default.device
    except Exception:
        return -1, -1
    return int(default_in if default_in is not None else -1), int(
        default_out if default_out is not None else -1
    )


def resolve_device(spec: str, direction: Direction) -> dict[str, Any]:
    """The device row (see :func:`list_devices`) that ``spec`` names for ``direction``.

    ``spec``: ``""`` for the system default, a device index, or part of a
    device name (case-insensitive; an exact name wins over a partial one).
    Raises :class:`HeadsetError` saying what exists when nothing fits.
    """
    sd = _sounddevice()
    devices = list_devices()
    channels = "outputs" if direction == "output" else "inputs"
    usable = [d for d in devices if d[channels] > 0]
    what = "speaker/headphone (output)" if direction == "output" else "microphone (input)"
    key = "audio.headset.output_device" if direction == "output" else "audio.headset.input_device"
    if not usable:
        raise HeadsetError(
            f"no sound device with a {what} is visible to PortAudio: plug in or enable a "
            "headset (check `careline audio devices`), or use audio.mode: station"
        )
    spec = spec.strip()
    if not spec:
        default_in, default_out = _defaults(sd)
        default = default_out if direction == "output" else default_in
        for dev in usable:
            if dev["index"] == default:
                return dev
        return usable[0]
    if spec.isdigit():
        for dev in usable:
            if dev["index"] == int(spec):
                return dev
        raise HeadsetError(
            f"there is no {what} device number {spec}: choose one of "
            f"{_names(usable)} (`careline audio devices`) and set {key}"
        )
    exact = [d for d in usable if d["name"].lower() == spec.lower()]
    partial = [d for d in usable if spec.lower() in d["name"].lower()]
    if exact or partial:
        return (exact or partial)[0]
    raise HeadsetError(
        f"no {what} device named like {spec!r}: choose one of {_names(usable)} "
        f"(`careline audio devices`) and set {key}"
    )


def _names(devices: list[dict[str, Any]]) -> str:
    return ", ".join(f"{d['index']} {d['name']!r}" for d in devices[:8])


def stream_rate(out_dev: dict[str, Any], in_dev: dict[str, Any], wanted: int) -> int:
    """``wanted`` if both devices take it (ALSA ``plug`` takes any), else the output's own rate."""
    sd = _sounddevice()
    try:
        sd.check_output_settings(
            device=out_dev["index"], channels=1, dtype="int16", samplerate=wanted
        )
        sd.check_input_settings(
            device=in_dev["index"], channels=1, dtype="int16", samplerate=wanted
        )
    except Exception:
        return int(out_dev["default_samplerate"]) or wanted
    return wanted


# ------------------------------------------------------------------ levels
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
        self.slack = slack
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


# ------------------------------------------------------------------ queues
class _FrameQueue:
    """One direction of the bridge: bounded FIFO of equal-size frames.

    One thread puts, one thread takes; ``collections.deque`` makes each
    operation atomic, and every counter has a single writer.
    """

    def __init__(self, frame_bytes: int, capacity: int) -> None:
        self.frame_bytes = frame_bytes
        self.silence = bytes(frame_bytes)
        self.capacity = capacity
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
            if now - self._last_take < _ACTIVE_SECONDS:
                self.overruns += 1
        self._frames.append(frame)

    def take(self) -> bytes:
        """The oldest frame, or silence when empty (reader thread)."""
        now = time.monotonic()
        if now - self._last_take > _ACTIVE_SECONDS:
            # The reader was away (no call, held): what queued meanwhile is
            # stale and would delay everything after it.
            while len(self._frames) > 1:
                self._frames.popleft()
        self._last_take = now
        depth = len(self._frames)
        self._deep_reads = self._deep_reads + 1 if depth > 1 else 0
        if self._deep_reads >= _TRIM_BLOCKS:
            self._deep_reads = 0
            self._frames.popleft()
            self.trimmed += 1
        try:
            return self._frames.popleft()
        except IndexError:
            if now - self._last_put < _ACTIVE_SECONDS:
                self.underruns += 1
            return self.silence

    def last_taken(self) -> float:
        """``time.monotonic()`` of the reader's latest take (0: never)."""
        return self._last_take

    def depth_ms(self) -> int:
        """Audio currently queued."""
        return len(self._frames) * FRAME_MS


# ------------------------------------------------------------------ frames
def _vector_reader() -> Callable[[Any], bytes]:
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


def _headset_port_class() -> type:
    """The ``pj.AudioMediaPort`` subclass, defined on first use (pjsua2 loads lazily)."""
    global _port_class
    if _port_class is not None:
        return _port_class
    import pjsua2 as pj

    read_vector = _vector_reader()
    audio_frame = pj.PJMEDIA_FRAME_TYPE_AUDIO

    class HeadsetPort(pj.AudioMediaPort):  # type: ignore[misc]
        """Conference-bridge port whose audio is the two queues (pjmedia clock thread)."""

        def __init__(self, speaker: _FrameQueue, mic: _FrameQueue) -> None:
            super().__init__()
            self.speaker = speaker
            self.mic = mic
            self.errors = 0

        def onFrameRequested(self, frame: Any) -> None:  # noqa: N802 - pjsua2 API name
            try:
                data = self.mic.take()
                frame.type = audio_frame
                frame.buf = pj.ByteVector(data)
                frame.size = len(data)
            except Exception:  # never unwind into pjmedia
                self.errors += 1

        def onFrameReceived(self, frame: Any) -> None:  # noqa: N802 - pjsua2 API name
            try:
                data = read_vector(frame.buf)
                if len(data) == self.speaker.frame_bytes:
                    self.speaker.put(data)
            except Exception:
                self.errors += 1

    _port_class = HeadsetPort
    return HeadsetPort


# ------------------------------------------------------------------ streams
@dataclass
class DeviceStream:
    """An open PortAudio stream (duplex, or one per direction) and what it runs at."""

    streams: list[Any]
    rate: int
    latency_ms: dict[str, float]

    def stop(self) -> None:
        """Stop and close every stream; errors on the way out are ignored."""
        for stream in self.streams:
            with contextlib.suppress(Exception):
                stream.stop()
            with contextlib.suppress(Exception):
                stream.close()
        self.streams = []


def open_stream(
    output: dict[str, Any],
    input_: dict[str, Any],
    rate: int,
    play: Callable[[memoryview], None],
    record: Callable[[bytes], None],
) -> DeviceStream:
    """Start 16-bit mono PortAudio I/O of 20 ms blocks at ``rate``.

    ``play`` fills each output block, ``record`` receives each input block;
    both run on PortAudio's thread behind a :class:`RealTimeGuard`. One duplex
    stream when the two devices can share one, else one stream each. Raises
    :class:`HeadsetError` naming the device and what to do.
    """
    sd = _sounddevice()
    block = rate * FRAME_MS // 1000
    guard = RealTimeGuard(rate)

    def duplex(indata: Any, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        try:
            record(bytes(indata))
            play(memoryview(outdata).cast("B"))
        except Exception:
            outdata[:] = bytes(len(outdata))
        guard(frames)

    out_guard, in_guard = RealTimeGuard(rate), RealTimeGuard(rate)

    def out_only(outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        try:
            play(memoryview(outdata).cast("B"))
        except Exception:
            outdata[:] = bytes(len(outdata))
        out_guard(frames)

    def in_only(indata: Any, frames: int, _time: Any, _status: Any) -> None:
        with contextlib.suppress(Exception):
            record(bytes(indata))
        in_guard(frames)

    common: dict[str, Any] = {
        "samplerate": rate,
        "blocksize": block,
        "channels": 1,
        "dtype": "int16",
        "latency": "low",
    }
    streams: list[Any] = []
    try:
        try:
            stream = sd.RawStream(
                device=(input_["index"], output["index"]), callback=duplex, **common
            )
            streams.append(stream)
            stream.start()
            out_latency, in_latency = stream.latency[1], stream.latency[0]
        except sd.PortAudioError:
            if output["index"] == input_["index"]:
                raise
            for stream in streams:
                stream.close()
            streams = []
            out_stream = sd.RawOutputStream(device=output["index"], callback=out_only, **common)
            streams.append(out_stream)
            in_stream = sd.RawInputStream(device=input_["index"], callback=in_only, **common)
            streams.append(in_stream)
            out_stream.start()
            in_stream.start()
            out_latency, in_latency = out_stream.latency, in_stream.latency
    except sd.PortAudioError as exc:
        DeviceStream(streams, rate, {}).stop()
        raise HeadsetError(_explain(exc, output, input_)) from None
    return DeviceStream(
        streams,
        rate,
        {"output": round(out_latency * 1000, 1), "input": round(in_latency * 1000, 1)},
    )


def try_devices(output: str, input_: str, seconds: float = 0.3) -> dict[str, Any]:
    """Open the headset devices briefly (silence out) and say what was opened.

    For checks outside the engine (``careline doctor``): no pjsua2 involved.
    Raises :class:`HeadsetError` like :meth:`Headset.open`.
    """
    out_dev = resolve_device(output, "output")
    in_dev = resolve_device(input_, "input")
    rate = stream_rate(out_dev, in_dev, 16000)
    meter = LevelMeter()

    def play(out: memoryview) -> None:
        out[:] = bytes(len(out))

    stream = open_stream(out_dev, in_dev, rate, play, meter.add)
    try:
        time.sleep(seconds)
    finally:
        stream.stop()
    return {
        "output_device": out_dev["name"],
        "input_device": in_dev["name"],
        "sample_rate": rate,
        "device_latency_ms": stream.latency_ms,
        "mic_peak_dbfs": meter.peak_ever_dbfs(),
    }


def _explain(exc: Exception, output: dict[str, Any], input_: dict[str, Any]) -> str:
    text = str(exc)
    which = f"{output['name']!r}" + (
        f" / {input_['name']!r}" if input_["index"] != output["index"] else ""
    )
    if "unavailable" in text.lower() or "busy" in text.lower():
        return (
            f"the sound device {which} is busy or unavailable ({text}): close the program "
            "using it, or choose another with audio.headset.output_device/input_device"
        )
    return (
        f"the sound device {which} cannot be opened ({text}): check it is plugged in, or "
        "choose another with audio.headset.output_device/input_device (`careline audio devices`)"
    )


# ------------------------------------------------------------------ headset
def _direction_facts(queue: _FrameQueue | None, level: LevelMeter) -> dict[str, Any]:
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
        self._clock_rate = clock_rate
        self._port: Any = None
        self._stream: DeviceStream | None = None
        self._speaker: _FrameQueue | None = None
        self._mic: _FrameQueue | None = None
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
        _rescan_devices()
        self._output = resolve_device(self.settings.output_device, "output")
        self._input = resolve_device(self.settings.input_device, "input")
        bridge_rate = self._clock_rate or int(pj.EpConfig().medConfig.clockRate)
        rate = stream_rate(self._output, self._input, bridge_rate)
        frame_bytes = rate * FRAME_MS // 1000 * 2
        capacity = max(1, self.settings.buffer_ms // FRAME_MS)
        speaker = _FrameQueue(frame_bytes, capacity)
        mic = _FrameQueue(frame_bytes, capacity)
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
        port = _headset_port_class()(speaker, mic)
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
