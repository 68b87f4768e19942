# SPDX-License-Identifier: GPL-2.0-or-later
"""Reading caller identity out of a raw SIP request, without trusting it.

Everything here treats the message as hostile text: it never raises on bad
input, caps every value's length, and returns plain strings. Rendering safety
(markup, escapes) is the console's job; this module only extracts.
"""

from __future__ import annotations

import re

from sip.plain import plain

MAX_VALUE_CHARS = 2048
"""Longest header value kept; longer values are cut (the rest is dropped)."""

_COMPACT = {"f": "from", "t": "to", "i": "call-id", "m": "contact", "v": "via"}
_URI_IN_BRACKETS = re.compile(r"<([^>]*)>")
_USER_PART = re.compile(r"^(?:sips?|tel):([^@;?>]*)", re.IGNORECASE)


def network_text(value: object) -> str:
    """Text from the network as valid Unicode: bytes that were not UTF-8 become U+FFFD.

    pjsua2's binding hands such bytes over as lone surrogates (``\\udcff``),
    which no UTF-8 encoder downstream (JSON readers, SQLite) accepts.
    """
    text = str(value)
    if text.isascii():
        return text  # the common case, and no surrogate can hide in ASCII
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@plain(frozen=True)
class Party:
    """A name-addr split into what the agent's screen needs."""

    display_name: str
    number: str
    uri: str


def parse_headers(raw: str) -> dict[str, list[str]]:
    """Headers of a SIP message, lower-cased names (compact forms expanded).

    Folded continuation lines are joined; the start line and body are ignored.
    """
    head = raw.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
    lines = head.replace("\r\n", "\n").split("\n")[1:]
    headers: dict[str, list[str]] = {}
    last: str | None = None
    for line in lines:
        if line[:1] in (" ", "\t") and last is not None:
            headers[last][-1] = (headers[last][-1] + " " + line.strip())[:MAX_VALUE_CHARS]
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        key = _COMPACT.get(key, key)
        headers.setdefault(key, []).append(value.strip()[:MAX_VALUE_CHARS])
        last = key
    return headers


def request_uri(raw: str) -> str:
    """The Request-URI of a request's start line, or ``""``."""
    start = raw.split("\n", 1)[0].strip().split(" ")
    return start[1][:MAX_VALUE_CHARS] if len(start) >= 3 else ""


def parse_name_addr(value: str) -> Party:
    """Split ``"Display" <sip:user@host>;tag=x`` into display name, number, URI.

    Accepts quoted display names with escapes, bare tokens before ``<``, and
    addr-spec without brackets. Never raises.
    """
    value = value.strip()
    display = ""
    rest = value
    if value.startswith('"'):
        chars: list[str] = []
        i = 1
        while i < len(value):
            ch = value[i]
            if ch == "\\" and i + 1 < len(value):
                chars.append(value[i + 1])
                i += 2
                continue
            if ch == '"':
                break
            chars.append(ch)
            i += 1
        display = "".join(chars)
        rest = value[i + 1 :]
    elif "<" in value:
        display = value.split("<", 1)[0].strip()
    match = _URI_IN_BRACKETS.search(rest)
    uri = match.group(1) if match else rest.split(";", 1)[0].strip()
    user = _USER_PART.match(uri)
    number = user.group(1) if user else ""
    return Party(display_name=display[:MAX_VALUE_CHARS], number=number, uri=uri)


def caller_of(raw: str) -> Party:
    """The calling party: P-Asserted-Identity when present, else From.

    The display name falls back to From's when the asserted identity has none.
    """
    headers = parse_headers(raw)
    from_party = parse_name_addr(headers.get("from", [""])[0])
    pai = headers.get("p-asserted-identity")
    if not pai:
        return from_party
    asserted = parse_name_addr(pai[0].split(",", 1)[0])
    return Party(
        display_name=asserted.display_name or from_party.display_name,
        number=asserted.number or from_party.number,
        uri=asserted.uri or from_party.uri,
    )
