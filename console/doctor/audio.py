# SPDX-License-Identifier: GPL-2.0-or-later
"""How the agent hears callers (headset, station, none) and the sound libraries."""

from __future__ import annotations

import ctypes.util
import json

from console.core.config import CarelineConfig, ConfigError
from console.doctor.check import Check, run_child


async def check_audio_mode(config: CarelineConfig) -> Check:
    audio = config.audio
    if audio.mode == "none":
        return Check(
            "audio mode",
            "ok",
            f"none: no agent audio (sip.audio_source {config.sip.audio_source} is sent into calls)",
        )
    if audio.mode == "station":
        return _check_station(config)
    return await _check_headset(config)


def _check_station(config: CarelineConfig) -> Check:
    from console.core.engine_settings import build_engine_settings
    from sip.dialplan import DialError, resolve

    number = config.audio.station.number.strip()
    if not number:
        return Check(
            "audio mode",
            "fail",
            "station: no station number",
            "set audio.station.number (your own phone), or use audio.mode: headset",
        )
    try:
        settings = build_engine_settings(config)
    except ConfigError as exc:
        return Check("audio mode", "fail", f"station: {exc}", "fix the sip settings")
    domain = settings.account.domain if settings.account else ""
    try:
        target = resolve(number, settings.dial, domain)
    except DialError as exc:
        return Check(
            "audio mode",
            "fail",
            f"station: {number!r} cannot be dialled: {exc}",
            "fix audio.station.number or the dial plan (sip.dial)",
        )
    return Check(
        "audio mode",
        "ok",
        f"station: the engine calls {target.uri} at sign-in "
        f"(rings up to {config.audio.station.answer_seconds} s)",
    )


async def _check_headset(config: CarelineConfig) -> Check:
    headset = config.audio.headset
    # In a child: PortAudio probes every ALSA device and can abort the
    # process on a broken ALSA configuration.
    done = await run_child(
        "-m", "sip.audio_probe", "headset", headset.output_device or "", headset.input_device or ""
    )
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return Check(
            "audio mode",
            "fail",
            f"headset: probing the sound devices crashed (exit {done.returncode})",
            "check the ALSA configuration (`careline audio devices`), or use audio.mode: station",
        )
    if not result["ok"]:
        return Check(
            "audio mode",
            "fail",
            f"headset: {result['error']}",
            "install/plug a headset and check it with `careline audio test`, "
            "or use audio.mode: station",
        )
    return Check(
        "audio mode",
        "ok",
        f"headset: output {result['output_device']!r}, microphone {result['input_device']!r} "
        f"open at {result['sample_rate']} Hz (buffer {headset.buffer_ms} ms)",
    )


async def check_audio_libraries() -> Check:
    engine = await run_child("-m", "sip.audio_probe", "pjsua2")
    if engine.returncode != 0:
        last = (engine.stderr.strip().splitlines() or ["?"])[-1]
        return Check(
            "audio",
            "fail",
            f"the phone engine cannot load pjsua2: {last}",
            "reinstall careline (pip install --force-reinstall careline) in this environment",
        )
    devices = await run_child("-m", "sip.audio_probe", "count")
    if devices.returncode == 0:
        return Check(
            "audio", "ok", f"pjsua2 loads; PortAudio sees {devices.stdout.strip()} device(s)"
        )
    if ctypes.util.find_library("portaudio"):
        return Check("audio", "ok", "pjsua2 loads; PortAudio is installed (sounddevice is not)")
    return Check(
        "audio",
        "warn",
        "pjsua2 loads; PortAudio not found (needed for a headset on this machine)",
        "sudo apt install libportaudio2",
    )
