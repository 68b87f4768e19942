"""Probes of the sound devices and the phone library, run in a child process.

PortAudio probes every ALSA device when it starts and can abort the whole
process on a broken ALSA configuration, and pjsua2 is a native library too:
so ``careline doctor`` and ``careline demo`` ask a child, never load them
themselves, and read its answer::

    python -m sip.audio_probe headset OUTPUT INPUT  one JSON line: {"ok": true, …the devices
                                                    opened…} or {"ok": false, "error": …}
    python -m sip.audio_probe has-output            exit 0 when a device plays sound, else 3
    python -m sip.audio_probe count                 how many devices PortAudio sees
                                                    (exit 1 when sounddevice is missing)
    python -m sip.audio_probe pjsua2                exit 0 when the phone library loads
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

NO_OUTPUT = 3
"""``has-output``'s exit code when no device plays sound."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one probe (see the module docstring); its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    what = args[0] if args else ""
    if what == "headset" and len(args) == 3:
        from sip.headset import HeadsetError, try_devices

        try:
            print(json.dumps({"ok": True, **try_devices(args[1], args[2])}))
        except HeadsetError as exc:
            print(json.dumps({"ok": False, "error": str(exc)}))
        return 0
    if what == "has-output":
        from sip.headset import list_devices

        return 0 if any(device["outputs"] > 0 for device in list_devices()) else NO_OUTPUT
    if what == "count":
        import sounddevice  # type: ignore[import-untyped]

        print(len(sounddevice.query_devices()))
        return 0
    if what == "pjsua2":
        import pjsua2  # noqa: F401 - loading it is the probe

        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
