# SPDX-License-Identifier: GPL-2.0-or-later
"""Which sound devices PortAudio sees, and which one a setting names.

``sounddevice`` is imported here and only here, on first use: the engine
starts without ``libportaudio2``, and only opening the headset (or listing
devices) fails, with a message saying what to install.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from sip.headset.errors import HeadsetError

__all__ = [
    "Direction",
    "check_portaudio",
    "list_devices",
    "rescan_devices",
    "resolve_device",
    "load_sounddevice",
    "stream_rate",
]

Direction = Literal["output", "input"]


def load_sounddevice() -> Any:
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
    load_sounddevice()


def rescan_devices() -> None:
    """Make PortAudio list the devices afresh (it scans once, at initialisation), so
    a headset plugged in after the engine started is found. Only while no stream
    of this process is open: the engine opens one headset at a time."""
    with contextlib.suppress(Exception):
        sd = load_sounddevice()
        sd._terminate()
        sd._initialize()


def list_devices() -> list[dict[str, Any]]:
    """Every PortAudio device: index, name, inputs, outputs, default flags, host API.

    ``[]`` when PortAudio is missing or sees no device; never raises.
    """
    try:
        sd = load_sounddevice()
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
    sd = load_sounddevice()
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
    sd = load_sounddevice()
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
