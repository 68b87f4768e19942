# SPDX-License-Identifier: GPL-2.0-or-later
"""Phone numbers to E.164, from whatever shape a file or a SIP caller gives them.

The phone-number library and its metadata weigh about 0.6 MiB of an idle console
(bench.idle_memory) and take about 25 ms to load (measured here), so they load with the
first number that needs them, not with the console: a caller whose number comes in
E.164, as many PBXs and trunks send it, is looked up as written (:func:`written_e164`)
without them.
"""

from __future__ import annotations

import asyncio
import re
import threading

_URI_SCHEME = re.compile(r"^(?:tel|sips?):", re.IGNORECASE)
# Separators people type between digit groups; phonenumbers copes with most,
# but dots and slashes inside a SIP user part are cheaper to drop up front.
_SEPARATORS = re.compile(r"[\s().\-/]")
# E.164: a country code (never starting with 0) and at most 15 digits in all. ASCII
# digits only (re.ASCII): other scripts' digits are the library's to read.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)
_LOADED = threading.Event()
"""Set once this process has loaded the phone-number library (by :func:`normalise` or
:func:`load_metadata`)."""


def _bare(text: str) -> str:
    """``text`` without URI scheme, host, parameters or separators."""
    value = text.strip()
    if _URI_SCHEME.match(value):
        value = _URI_SCHEME.sub("", value, count=1)
        value = value.split("@", 1)[0]
        # tel: and SIP user parts carry parameters after ';' (ext, isub, phone-context)
        value = value.split(";", 1)[0]
    return _SEPARATORS.sub("", value)


def written_e164(text: str) -> str | None:
    """``text`` as E.164 if it is written that way (``+1 (202) 555-0142``, a ``tel:`` or
    SIP URI with ``+`` and the digits), without the library; else None.

    Not checked against any numbering plan, and not always canonical (``+44 (0)20…``
    keeps its trunk 0): good for looking up numbers stored canonical, where a miss
    then asks :func:`normalise`.
    """
    value = _bare(text)
    return value if _E164.fullmatch(value) else None


def normalise(text: str, region: str) -> str | None:
    """``text`` as an E.164 number (``+12025550142``), or None if it is not a valid number.

    Accepts the common written forms (``(202) 555-0142``, ``202.555.0142``,
    ``+1 202 555 0142``, ``12025550142``), ``tel:`` URIs and SIP URIs or
    user parts (``sip:+12025550142@host;user=phone``). ``region`` (ISO 3166
    alpha-2, config ``sip.dial.region``) applies to numbers written without
    a country code. Loads the library on its first call (see the module's docstring).
    """
    value = _bare(text)
    if not value or len(value) > 20:
        return None
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, region)
        valid = phonenumbers.is_valid_number(parsed)
    except phonenumbers.NumberParseException:
        return None
    finally:
        _LOADED.set()
    if not valid:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


async def normalised(text: str, region: str) -> str | None:
    """:func:`normalise`, for the event loop: the process's first number loads the library
    in a thread, where the loop goes on; every later one is normalised in place, in well
    under a millisecond."""
    if _LOADED.is_set():
        return normalise(text, region)
    return await asyncio.to_thread(normalise, text, region)


def load_metadata(region: str) -> None:
    """Load the phone-number library and ``region``'s metadata now (in a thread: the
    console calls this once its first caller's card is up)."""
    import phonenumbers

    example = phonenumbers.example_number(region)  # None for an unknown region
    if example is not None:
        phonenumbers.is_valid_number(example)  # loads the region's metadata
    _LOADED.set()


def library_loaded() -> bool:
    """Whether this process has loaded the phone-number library through this module."""
    return _LOADED.is_set()
