# SPDX-License-Identifier: GPL-2.0-or-later
"""Which phone library this engine runs: pjsua2 build, OpenSSL, TLS, DTLS, call slots, sound.

The hardened build (``make library``, ``pjproject/build.py``) carries its build
facts in ``pjsua2.BUILD``; any other pjsua2 (the PyPI wheel) is described from
what can be asked at run time. Reported in the engine's hello and status, by
``careline doctor`` (``python -m sip.library_report``, a child process) and in
the console's status bar (``summary`` only: this module imports pjsua2 only inside
the functions that ask the library, so the console can use it without loading it).
"""

from __future__ import annotations

import os

from sip.engine_log import logger
from sip.library_facts import build_facts, tls_versions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    import pjsua2 as pj

log = logger(__name__)


VERSION_CHUNK = 64 * 1024
"""How much of libcrypto is read at a time: under glibc's mmap threshold, so the
buffers go back to the heap the engine reuses rather than staying resident."""


VERSION_MAX = 128
"""Longer than any OpenSSL version text (``OpenSSL 3.0.19 27 Jan 2026``)."""


def openssl_version() -> str | None:
    """The OpenSSL that pjsua2 runs with: the version text of the loaded libcrypto itself."""
    for path in _libcrypto_candidates():
        try:
            version = _version_text(path)
        except OSError:
            continue
        if version is not None:
            return version
    return None


def _version_text(path: str) -> str | None:
    """``OPENSSL_VERSION_TEXT`` as compiled into the libcrypto at ``path`` — what its
    ``OpenSSL_version(0)`` returns — read from the file rather than called through ctypes
    (which the idle engine would then keep loaded, about 0.3 MiB)."""
    marker = b"OpenSSL "
    with open(path, "rb") as lib:
        tail = b""
        while chunk := lib.read(VERSION_CHUNK):
            window = tail + chunk
            start = window.find(marker)
            while start >= 0:
                end = window.find(b"\0", start)
                if end < 0:
                    break  # the text runs into the next chunk: seen again there
                version = _as_version(window[start:end])
                if version is not None:
                    return version
                start = window.find(marker, start + 1)
            # A version text cut by the chunk's end is read whole with the next chunk.
            cut = start >= 0 and len(window) - start <= VERSION_MAX
            tail = window[start:] if cut else window[-VERSION_MAX:]
    return None


def _as_version(text: bytes) -> str | None:
    """``text`` when it is a version text, e.g. ``OpenSSL 3.0.19 27 Jan 2026`` or
    ``OpenSSL 1.0.2u  20 Dec 2019`` (name, version, day, month, year), else None."""
    words = text.split()
    if len(words) != 5 or not words[1][:1].isdigit():
        return None
    if not (words[2].isdigit() and words[3].isalpha() and words[4].isdigit()):
        return None
    return text.decode(errors="replace").strip()


def _libcrypto_candidates() -> list[str]:
    # The hardened build records the libcrypto its binding links; the PyPI wheel
    # bundles its own (renamed) one beside the package. Else: whatever is mapped.
    # (os.path, not pathlib: this runs in every engine start, pathlib is not needed.)
    import pjsua2 as pj

    linked = str(build_facts().get("libcrypto") or "")
    if linked and os.path.exists(linked):
        return [linked]
    site = os.path.dirname(os.path.dirname(os.path.realpath(pj.__file__)))
    libs = os.path.join(site, "pjsua2_python.libs")
    try:
        names = os.listdir(libs)
    except OSError:
        names = []
    bundled = sorted(
        os.path.join(libs, name)
        for name in names
        if name.startswith("libcrypto") and ".so" in name.removeprefix("libcrypto")
    )
    if bundled:
        return bundled
    mapped: list[str] = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rstrip("\n").split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
                if "/libcrypto" in path and path not in mapped:
                    mapped.append(path)
    except OSError:
        pass
    return mapped


def sound_devices(ep: pj.Endpoint) -> list[str]:
    """Names of the sound devices the library itself can open (none in the wheel)."""
    import pjsua2 as pj

    try:
        return [str(dev.name) for dev in ep.audDevManager().enumDev2()]
    except pj.Error:
        return []


def describe(ep: pj.Endpoint, slots: int, *, measured: bool, clock_rate: int) -> dict[str, Any]:
    """Everything a user or a supervisor needs to know about the library, as one dict.

    ``clock_rate`` is the conference bridge's, as the engine configured it.
    """
    facts = build_facts()
    if facts:
        build = f"careline hardened {facts.get('key', '')}".strip()
    else:
        from importlib import metadata  # only here: its import is a noticeable part of start-up

        try:
            build = f"pjsua2-python {metadata.version('pjsua2-python')} (PyPI wheel)"
        except metadata.PackageNotFoundError:
            build = "pjsua2 of unknown origin"
    return {
        "pjsua2": str(ep.libVersion().full),
        "build": build,
        "hardened": bool(facts),
        "openssl": openssl_version(),
        "tls": tls_versions(ep),
        "dtls": bool(facts.get("dtls", False)),
        "call_slots": slots,
        "call_slots_measured": measured,
        "sound_devices": sound_devices(ep),
        "bridge_clock_rate": clock_rate,
    }


def report_at_start(
    ep: pj.Endpoint, slots: int, *, measured: bool, clock_rate: int
) -> dict[str, Any]:
    """:func:`describe`, for the engine starting: logged as one line, and empty rather
    than raising (a report must never stop the phone from starting)."""
    try:
        library = describe(ep, slots, measured=measured, clock_rate=clock_rate)
    except Exception:
        log.exception("could not describe the phone library")
        library = {}
    log.info("phone library: %s", summary(library))
    return library


def summary(library: object) -> str:
    """One plain line for a status bar or a doctor check, e.g. ``pjsua2 2.15.1 (careline
    hardened) · OpenSSL 3.0.19 · TLS 1.2/1.3 · DTLS-SRTP · 32 call slots · no sound devices``.

    Whatever the report holds, the line is printable text of bounded length.
    """
    if not isinstance(library, dict) or not library:
        return ""
    build = "careline hardened" if library.get("hardened") is True else "PyPI wheel"
    parts = [f"pjsua2 {_word(library.get('pjsua2'))} ({build})"]
    openssl = _plain(library.get("openssl"))
    if openssl:
        parts.append(" ".join(openssl.split()[:2]))
    tls = library.get("tls")
    if isinstance(tls, list) and tls:
        parts.append("TLS " + "/".join(_word(v) for v in tls[:4]))
    parts.append("DTLS-SRTP" if library.get("dtls") is True else "no DTLS-SRTP")
    parts.append(f"{_word(library.get('call_slots'))} call slots")
    devices = library.get("sound_devices")
    count = len(devices) if isinstance(devices, list) else 0
    parts.append(f"{count} sound devices" if count else "no sound devices")
    return " · ".join(parts)


def _plain(value: object, limit: int = 60) -> str:
    """``value`` as one line of printable characters, at most ``limit`` long."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value or ""))
    return " ".join(text.split())[:limit]


def _word(value: object) -> str:
    """A short token (a version, a count), or ``?``."""
    return _plain(value, 16).replace(" ", "") or "?"


def probe() -> dict[str, Any]:
    """Start a throwaway endpoint on 127.0.0.1 and describe it (for ``careline doctor``)."""
    import pjsua2 as pj

    from sip.library import call_capacity, destroy_endpoint, endpoint_config
    from sip.settings import EngineSettings

    ep = pj.Endpoint()
    ep.libCreate()
    try:
        config = endpoint_config(EngineSettings(log_level=0))
        ep.libInit(config)
        cfg = pj.TransportConfig()
        cfg.boundAddress = "127.0.0.1"
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, cfg)
        ep.libStart()
        ep.audDevManager().setNullDev()
        slots = call_capacity(ep, "127.0.0.1")
        return describe(
            ep,
            slots or 0,
            measured=slots is not None,
            clock_rate=int(config.medConfig.clockRate),
        )
    finally:
        destroy_endpoint(ep, answers_due=False)  # a probe: nothing of it needs an answer


if __name__ == "__main__":  # python -m sip.library_report
    import json

    print(json.dumps(probe()))
