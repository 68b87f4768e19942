# SPDX-License-Identifier: GPL-2.0-or-later
"""The phone library the engine runs, and the codecs calls may use."""

from __future__ import annotations

import json
import sys
from typing import Any

from console.core.config import CarelineConfig
from console.doctor.check import Check, Findings, run_child


def _judge_codecs(enabled: list[str], where: str = "") -> Check:
    """ok, or a warning when Speex is among the enabled codecs."""
    detail = ", ".join(enabled) + where
    if any(codec.lower().startswith("speex/") for codec in enabled):
        return Check(
            "codecs", "warn", detail, "Speex drops out on quiet audio: remove it from sip.codecs"
        )
    return Check("codecs", "ok", detail)


async def _ask_library(argv: list[str]) -> dict[str, Any]:
    """Run a ``sip`` module in a child (only the engine side loads pjsua2); its last JSON line.

    When the child gives no answer, ``{"failure": …}`` holds its last line of errors.
    """
    done = await run_child(*argv)
    try:
        result = json.loads((done.stdout.strip().splitlines() or ["{}"])[-1])
    except json.JSONDecodeError:
        result = {}
    if isinstance(result, dict) and result:
        return result
    last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    return {"failure": last[:200]}


HARDEN_FIX = (
    "make library in a careline checkout, or for this install from one: "
    f"python3 pjproject/build.py --venv {sys.prefix} "
    "(builds the hardened pjsua2: OpenSSL 3, TLS 1.3, DTLS-SRTP, 32 calls)"
)
"""Said where careline was installed from a wheel too: this environment is the one to build
into (``sys.prefix``: the doctor runs in careline's own interpreter)."""


async def check_library(config: CarelineConfig, found: Findings) -> Check:
    """Which pjsua2 the engine runs, and whether the configuration fits it."""
    from sip.library_report import summary

    running = (found.engine_status or {}).get("library")
    where = " (the running engine)" if isinstance(running, dict) and running else ""
    library: dict[str, Any] = (
        running
        if isinstance(running, dict) and where
        else await _ask_library(["-m", "sip.library_report"])
    )
    if "failure" in library:
        return Check(
            "library",
            "fail",
            f"the phone library could not be asked: {library['failure']}",
            HARDEN_FIX,
        )
    detail = summary(library) + where
    slots = int(library.get("call_slots") or 0)
    sip = config.sip
    if "dtls" in sip.srtp_keying and not library.get("dtls"):
        return Check("library", "fail", detail + "; sip.srtp_keying lists dtls", HARDEN_FIX)
    if sip.tls is not None and sip.tls.version == "1.3" and "1.3" not in library.get("tls", []):
        return Check("library", "fail", detail + "; sip.tls.version is 1.3", HARDEN_FIX)
    if slots and sip.queue_capacity >= slots:
        return Check(
            "library",
            "warn",
            f"{detail}; sip.queue_capacity {sip.queue_capacity} leaves none of its {slots} "
            "call slots for a consult call or a dial",
            HARDEN_FIX if not library.get("hardened") else "lower sip.queue_capacity",
        )
    if not library.get("hardened"):
        return Check("library", "warn", detail, HARDEN_FIX)
    return Check("library", "ok", detail)


async def check_codecs(config: CarelineConfig, found: Findings) -> Check:
    """The codecs calls may use, in order: from the running engine, else from the library."""
    running = (found.engine_status or {}).get("codecs")
    if isinstance(running, list) and running:
        return _judge_codecs([str(codec) for codec in running], " (the running engine)")
    sip = config.sip
    argv = ["-m", "sip.codec_policy", *sip.codecs]
    if sip.allow_speex_despite_dropouts:
        argv.append("--allow-risky")
    result = await _ask_library(argv)
    if "enabled" in result:
        return _judge_codecs([str(codec) for codec in result["enabled"]])
    if "error" in result:
        return Check("codecs", "fail", str(result["error"]), "correct sip.codecs")
    return Check("codecs", "fail", "the phone library could not be asked", "run careline engine")
