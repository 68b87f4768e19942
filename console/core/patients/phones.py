# SPDX-License-Identifier: GPL-2.0-or-later
"""Phone numbers to E.164, from whatever shape a file or a SIP caller gives them."""

from __future__ import annotations

import re

_URI_SCHEME = re.compile(r"^(?:tel|sips?):", re.IGNORECASE)
# Separators people type between digit groups; phonenumbers copes with most,
# but dots and slashes inside a SIP user part are cheaper to drop up front.
_SEPARATORS = re.compile(r"[\s().\-/]")


def normalise(text: str, region: str) -> str | None:
    """``text`` as an E.164 number (``+12025550142``), or None if it is not a valid number.

    Accepts the common written forms (``(202) 555-0142``, ``202.555.0142``,
    ``+1 202 555 0142``, ``12025550142``), ``tel:`` URIs and SIP URIs or
    user parts (``sip:+12025550142@host;user=phone``). ``region`` (ISO 3166
    alpha-2, config ``sip.dial.region``) applies to numbers written without
    a country code.
    """
    value = text.strip()
    if _URI_SCHEME.match(value):
        value = _URI_SCHEME.sub("", value, count=1)
        value = value.split("@", 1)[0]
        # tel: and SIP user parts carry parameters after ';' (ext, isub, phone-context)
        value = value.split(";", 1)[0]
    value = _SEPARATORS.sub("", value)
    if not value or len(value) > 20:
        return None
    # Here, not at the top: the library and its metadata load with the first number
    # (a screen pop, an import), not with every console start.
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def load_metadata(region: str) -> None:
    """Load the phone-number library and ``region``'s metadata now.

    Importing phonenumbers costs about 25 ms (measured here), and a lazy import paid
    it on the first caller's number, before their greeting: the console calls this
    in a thread once its first frame is up (about 3 MiB resident).
    """
    import phonenumbers

    example = phonenumbers.example_number(region)  # None for an unknown region
    if example is not None:
        phonenumbers.is_valid_number(example)  # loads the region's metadata
