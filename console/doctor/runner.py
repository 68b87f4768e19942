# SPDX-License-Identifier: GPL-2.0-or-later
"""Run every check in order; a check that breaks becomes a failure, secrets never shown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from console.doctor.audio import check_audio_libraries, check_audio_mode
from console.doctor.check import Check, Findings
from console.doctor.engine import check_registration, check_socket
from console.doctor.hub import check_clock, check_hub
from console.doctor.library import check_codecs, check_library
from console.doctor.local import check_config, check_store
from console.doctor.recording import check_recording
from console.doctor.tls import check_tls


async def diagnose(config_path: Path | None, *, start_engine: bool = False) -> list[Check]:
    """Every check, in order."""
    found = Findings()
    checks: list[Check] = []

    async def guarded(name: str, check: Callable[[], Awaitable[Check]]) -> None:
        try:
            result = await check()
        except Exception as exc:  # a check must never take the doctor down
            result = Check(name, "fail", f"the check broke: {type(exc).__name__}", "report this")
        checks.append(_scrub(result, found.secrets))

    await guarded("config", lambda: check_config(config_path, found))
    if found.config is None:
        for name in (
            "store",
            "socket",
            "registration",
            "library",
            "codecs",
            "hub",
            "clock",
            "tls",
            "recording",
        ):
            checks.append(Check(name, "skip", "the configuration does not load"))
        await guarded("audio", check_audio_libraries)
        return checks
    config = found.config
    await guarded("store", lambda: check_store(config))
    await guarded("socket", lambda: check_socket(config, found))
    await guarded(
        "registration", lambda: check_registration(config, config_path, found, start_engine)
    )
    await guarded("audio mode", lambda: check_audio_mode(config))
    await guarded("audio", check_audio_libraries)
    await guarded("library", lambda: check_library(config, found))
    await guarded("codecs", lambda: check_codecs(config, found))
    await guarded("hub", lambda: check_hub(config, found))
    await guarded("clock", lambda: check_clock(found))
    await guarded("tls", lambda: check_tls(config))
    await guarded("recording", lambda: check_recording(config))
    return checks


def _scrub(check: Check, secrets: list[str]) -> Check:
    """The check with every known secret blanked out of its text."""
    detail, fix = check.detail, check.fix
    for secret in secrets:
        if secret:
            detail = detail.replace(secret, "***")
            fix = fix.replace(secret, "***")
    return Check(check.name, check.status, detail, fix)
