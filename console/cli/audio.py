# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline audio``: list the sound devices and test the headset before a shift.

``audio devices`` prints what PortAudio sees; ``audio test`` plays a tone on
the headset and shows the microphone level live, then says whether the
microphone was heard. Devices default to the config's ``audio.headset``.
Nothing here loads the SIP library.
"""

from __future__ import annotations

import argparse
import array
import json
import math
import sys
import time
from typing import Any

from console.cli.command import Command, Subcommands, config_of

SILENT_DBFS = -60.0
"""A microphone whose peak stays below this heard nothing (a muted or unplugged mic)."""
METER_WIDTH = 30
METER_FLOOR_DBFS = -60.0


def _devices_arguments(devices: argparse.ArgumentParser) -> None:
    devices.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _test_arguments(test: argparse.ArgumentParser) -> None:
    test.add_argument("--output", metavar="DEV", help="output device: index or part of its name")
    test.add_argument("--input", metavar="DEV", help="microphone: index or part of its name")
    test.add_argument(
        "--seconds", type=float, default=5.0, metavar="N", help="how long (default 5)"
    )
    test.add_argument("--hz", type=float, default=440.0, help="tone frequency (default 440)")


def _list_devices(args: argparse.Namespace) -> int:
    config_of(args)  # a configuration that does not load fails every command but doctor
    return _devices(as_json=args.json)


def _test_headset(args: argparse.Namespace) -> int:
    headset = config_of(args).audio.headset
    output = args.output if args.output is not None else headset.output_device or ""
    input_ = args.input if args.input is not None else headset.input_device or ""
    return _test(output, input_, seconds=max(0.5, args.seconds), hz=args.hz)


def _devices(*, as_json: bool) -> int:
    from sip.headset import HeadsetError, check_portaudio, list_devices

    rows = list_devices()
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        try:
            check_portaudio()
        except HeadsetError as exc:
            print(f"careline: {exc}", file=sys.stderr)
            return 1
        print(
            "no sound device: plug in or enable a headset, or use audio.mode: station",
            file=sys.stderr,
        )
        return 1
    width = max(len(row["name"]) for row in rows)
    print(f"{'#':>3}  {'name':<{width}}  {'in':>3}  {'out':>3}  {'rate':>6}  default  host API")
    for row in rows:
        default = "/".join(
            name
            for name, flag in (("in", row["default_input"]), ("out", row["default_output"]))
            if flag
        )
        print(
            f"{row['index']:>3}  {row['name']:<{width}}  {row['inputs']:>3}  {row['outputs']:>3}"
            f"  {row['default_samplerate']:>6.0f}  {default or '-':<7}  {row['hostapi']}"
        )
    return 0


def _meter(dbfs: float) -> str:
    filled = round(
        METER_WIDTH * (max(dbfs, METER_FLOOR_DBFS) - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS
    )
    return "#" * filled + "." * (METER_WIDTH - filled)


def _tone(hz: float, rate: int) -> bytes:
    """One second of the tone at -12 dBFS (a whole number of cycles loops without a click)."""
    step = 2.0 * math.pi * round(hz) / rate
    samples = array.array("h", (int(8192 * math.sin(step * i)) for i in range(rate)))
    return samples.tobytes()


def _test(output: str, input_: str, *, seconds: float, hz: float) -> int:
    from sip.headset import (
        HeadsetError,
        LevelMeter,
        open_stream,
        resolve_device,
        stream_rate,
    )

    try:
        out_dev = resolve_device(output, "output")
        in_dev = resolve_device(input_, "input")
        rate = stream_rate(out_dev, in_dev, 16000)
    except HeadsetError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 1
    tone = _tone(hz, rate)
    position = [0]
    mic = LevelMeter(blocks=5)  # 100 ms: the meter follows the voice

    def play(out: memoryview) -> None:
        start = position[0]
        end = start + len(out)
        if end <= len(tone):
            out[:] = tone[start:end]
        else:
            out[:] = tone[start:] + tone[: end - len(tone)]
        position[0] = end % len(tone)

    try:
        stream = open_stream(out_dev, in_dev, rate, play, mic.add)
    except HeadsetError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 1
    print(
        f"playing {hz:.0f} Hz on {out_dev['name']!r}, listening on {in_dev['name']!r} "
        f"({rate} Hz) for {seconds:g} s; Ctrl-C stops",
        flush=True,
    )
    interrupted = False
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(0.1)
            level = mic.peak_dbfs()
            sys.stdout.write(f"\rmicrophone [{_meter(level)}] {level:6.1f} dBFS ")
            sys.stdout.flush()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stream.stop()
    sys.stdout.write("\n")
    return _summary(out_dev, in_dev, mic.peak_ever_dbfs(), interrupted)


def _summary(
    out_dev: dict[str, Any], in_dev: dict[str, Any], peak: float, interrupted: bool
) -> int:
    heard = peak >= SILENT_DBFS
    verdict = (
        "OK"
        if heard
        else f"silent — check the microphone {in_dev['name']!r} is plugged in and not muted, "
        "or choose another with --input (`careline audio devices`)"
    )
    print(f"tone played on {out_dev['name']!r}; microphone peak {peak:.1f} dBFS: {verdict}")
    if interrupted:
        return 130
    return 0 if heard else 1


AUDIO = Command(
    help="list sound devices and test the headset (tone out, microphone level in)",
    description="List the sound devices and test the headset before a shift.",
    subcommands=Subcommands(
        "audio_command",
        "ACTION",
        {
            "devices": Command(
                help="list the sound devices PortAudio sees",
                description=(
                    "List sound devices: index, name, inputs, outputs, defaults, host API."
                ),
                run=_list_devices,
                add_arguments=_devices_arguments,
            ),
            "test": Command(
                help="play a tone on the headset and show the microphone level",
                description=(
                    "Play a tone on the output device and show the microphone level live; exit "
                    "1 if the device cannot be opened or the microphone stays silent. Ctrl-C "
                    "stops."
                ),
                run=_test_headset,
                add_arguments=_test_arguments,
            ),
        },
    ),
)
