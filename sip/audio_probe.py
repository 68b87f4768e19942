# SPDX-License-Identifier: GPL-2.0-or-later
"""Probes of the sound devices and the phone library, run in a child process.

PortAudio probes every ALSA device when it starts and can abort the whole
process on a broken ALSA configuration, and pjsua2 is a native library too:
so ``careline doctor`` and ``careline demo`` ask a child, never load them
themselves, and read its answer::

    python -m sip.audio_probe headset OUTPUT INPUT  one JSON line: {"ok": true, …the devices
                                                    opened…} or {"ok": false, "error": …}
    python -m sip.audio_probe devices OUTPUT INPUT  one JSON line: {"ok": true} when both are
                                                    there (nothing opened), or the error
    python -m sip.audio_probe has-output            exit 0 when a device plays sound, else 3
    python -m sip.audio_probe count                 how many devices PortAudio sees
                                                    (exit 1 when sounddevice is missing)
    python -m sip.audio_probe pjsua2                exit 0 when the phone library loads
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Sequence

from sip.headset.errors import HeadsetError

NO_OUTPUT = 3
"""``has-output``'s exit code when no device plays sound."""
PROBE_SECONDS = 10.0
"""How long a child may take to list the devices before the sound system counts as hung."""


def check_devices(output: str, input_: str, timeout: float = PROBE_SECONDS) -> None:
    """Ask a child whether the headset devices ``output``/``input_`` are there.

    The engine holds the calls, so it lets a child load PortAudio first: a
    broken sound configuration then kills the child, not every call, and a
    machine with no device never loads PortAudio at all. Raises
    :class:`HeadsetError` with the reason (the child's, or how it died).
    """
    station = "or use audio.mode: station"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sip.audio_probe", "devices", output, input_],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HeadsetError(
            f"the sound system did not list its devices in {timeout:.0f} s: "
            f"check it (`careline audio devices`), {station}"
        ) from None
    except OSError as exc:
        raise HeadsetError(f"the sound system could not be checked ({exc}): {station}") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        try:
            answer = json.loads(lines[-1])
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("ok") is True:
            return
        if isinstance(answer, dict) and isinstance(answer.get("error"), str):
            raise HeadsetError(answer["error"])
    how = (
        f"signal {signal.Signals(-done.returncode).name}"
        if done.returncode < 0 and -done.returncode in signal.valid_signals()
        else f"exit {done.returncode}"
    )
    raise HeadsetError(
        f"the sound system failed while PortAudio listed the devices ({how}): check the "
        f"ALSA configuration (`careline audio devices`), {station}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one probe (see the module docstring); its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    what = args[0] if args else ""
    if what == "headset" and len(args) == 3:
        from sip.headset import try_devices

        try:
            print(json.dumps({"ok": True, **try_devices(args[1], args[2])}))
        except HeadsetError as exc:
            print(json.dumps({"ok": False, "error": str(exc)}))
        return 0
    if what == "devices" and len(args) == 3:
        from sip.headset import resolve_device

        try:
            resolve_device(args[1], "output")
            resolve_device(args[2], "input")
        except HeadsetError as exc:
            print(json.dumps({"ok": False, "error": str(exc)}))
        else:
            print(json.dumps({"ok": True}))
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
