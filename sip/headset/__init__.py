# SPDX-License-Identifier: GPL-2.0-or-later
"""The headset bridge: call audio to and from a PortAudio device (``sounddevice``).

Two clocks meet here. pjmedia's conference bridge runs on the null sound
device's clock thread: every 20 ms it hands the headset port the mix the
agent should hear and asks for what the agent says. PortAudio runs the sound
card on its own callback thread with the card's own crystal. Neither may wait
for the other, so they meet in two bounded queues of 20 ms frames.

Both sides' callbacks stay tiny: deque appends and pops (atomic under the
GIL), a level meter and counters. No lock is taken, no pjsua2 call is made
and nothing is logged from them; an exception never unwinds into pjsip or
PortAudio.

One concern a module:

- :mod:`~sip.headset.devices` -- which devices PortAudio sees and which one
  a setting names (the only place ``sounddevice`` is imported);
- :mod:`~sip.headset.meter` -- peak/RMS levels in dBFS;
- :mod:`~sip.headset.pacing` -- holding a clockless device to real time;
- :mod:`~sip.headset.frames` -- the bounded frame queue between the clocks;
- :mod:`~sip.headset.port` -- the conference-bridge port (pjsua2);
- :mod:`~sip.headset.stream` -- the PortAudio streams (sound-card side);
- :mod:`~sip.headset.bridge` -- :class:`Headset`, which joins the two.

``sounddevice`` is imported lazily: the engine starts without
``libportaudio2``; only opening the headset fails, with a message saying so.
pjsua2 is imported lazily too, so the CLI and the doctor can list devices
without loading the SIP library. Importing this package loads neither, nor
any of its modules: each name below loads its module on first use, so an
engine without a headset that imports :mod:`sip.headset.errors` (or the
recording port's frame size) does not pay for the bridge, the streams and
ctypes' port plumbing (about 1 MiB of its idle memory, measured).
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # (typing itself is not loaded by an idle engine)
if TYPE_CHECKING:
    from typing import Any

    from sip.headset.bridge import Headset
    from sip.headset.devices import check_portaudio, list_devices, resolve_device, stream_rate
    from sip.headset.errors import HeadsetError
    from sip.headset.frames import FRAME_MS
    from sip.headset.meter import LevelMeter
    from sip.headset.pacing import RealTimeGuard
    from sip.headset.stream import open_stream, try_devices

_LAZY = {
    "FRAME_MS": "frames",
    "Headset": "bridge",
    "HeadsetError": "errors",
    "LevelMeter": "meter",
    "RealTimeGuard": "pacing",
    "check_portaudio": "devices",
    "list_devices": "devices",
    "open_stream": "stream",
    "resolve_device": "devices",
    "stream_rate": "devices",
    "try_devices": "stream",
}
"""Each public name and the module of this package that defines it."""

__all__ = [
    "FRAME_MS",
    "Headset",
    "HeadsetError",
    "LevelMeter",
    "RealTimeGuard",
    "check_portaudio",
    "list_devices",
    "open_stream",
    "resolve_device",
    "stream_rate",
    "try_devices",
]


def __getattr__(name: str) -> Any:
    """Load the module that defines ``name`` on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
