# SPDX-License-Identifier: GPL-2.0-or-later
"""The sound-card side of the headset: 16-bit mono PortAudio streams of 20 ms blocks.

PortAudio runs the card on its own callback thread with the card's own
crystal. The callbacks here stay tiny (hand a block to ``play``/``record``,
then pace) and never raise into PortAudio: a failed block plays silence.

A device with no clock of its own (ALSA ``null``/``file``, used by the tests
on machines with no sound card) would run its callback as fast as the CPU
allows; every callback therefore goes through a :class:`RealTimeGuard`. A
real card never runs ahead of real time by more than its buffer, so the
guard never acts on one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sip.headset.devices import load_sounddevice, resolve_device, stream_rate
from sip.headset.errors import HeadsetError
from sip.headset.frames import FRAME_MS
from sip.headset.meter import LevelMeter
from sip.headset.pacing import RealTimeGuard

__all__ = ["DeviceStream", "open_stream", "try_devices"]


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
    sd = load_sounddevice()
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
