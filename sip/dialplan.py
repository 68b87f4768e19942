# SPDX-License-Identifier: GPL-2.0-or-later
"""Turning what an agent types into a SIP URI: E.164 numbers, extensions, URIs."""

from __future__ import annotations

import re

from sip.plain import plain
from sip.settings import DialSettings

_URI = re.compile(r"^sips?:[^\s<>\"]+$", re.IGNORECASE)
_VISUAL = re.compile(r"[\s().\-/]")
_CALLER_ID = re.compile(r"^\+?[0-9]{3,16}$")
_HOST = re.compile(r"^sips?:(?:[^@;>]*@)?([^;>?]+)", re.IGNORECASE)


class DialError(ValueError):
    """The input cannot be dialled; the message says why."""


@plain(frozen=True)
class DialTarget:
    """A resolved destination."""

    uri: str
    """The SIP URI to call."""
    number: str
    """The normalised number (E.164, or the extension), or the URI itself."""
    kind: str
    """``e164``, ``extension`` or ``uri``."""


def resolve(text: str, plan: DialSettings, domain: str) -> DialTarget:
    """Resolve typed input against the dial plan; ``domain`` is the account's domain or ''."""
    raw = text.strip()
    if not raw or len(raw) > 256:
        raise DialError("nothing to dial" if not raw else "that is too long to be a number")
    if _URI.match(raw):
        return DialTarget(uri=raw, number=raw, kind="uri")
    compact = _VISUAL.sub("", raw)
    target_domain = domain or plan.domain
    if re.match(plan.extension_pattern, compact):
        if not target_domain:
            raise DialError(
                "no domain to dial extensions in: configure sip.account or sip.dial.domain"
            )
        return DialTarget(uri=f"sip:{compact}@{target_domain}", number=compact, kind="extension")
    import phonenumbers  # its metadata is large: loaded at the first number dialled, not at idle

    try:
        parsed = phonenumbers.parse(compact, plan.region)
    except phonenumbers.NumberParseException as exc:
        raise DialError(f"{raw!r} is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise DialError(f"{raw!r} is not a valid phone number for region {plan.region}")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not target_domain:
        raise DialError("no domain to dial numbers in: configure sip.account or sip.dial.domain")
    return DialTarget(uri=f"sip:{plan.prefix}{e164}@{target_domain}", number=e164, kind="e164")


def asserted_identity(caller_id: object, target_uri: str) -> str:
    """The ``P-Asserted-Identity`` value presenting ``caller_id`` (a number, as typed in
    the configuration: spaces, dots, dashes and brackets allowed) on a call to
    ``target_uri``, in that URI's domain (the PBX or trunk that shows it to the callee).

    Raises :class:`DialError` for anything but a plain number: the value goes into a
    SIP header, so nothing that could end or extend it is let through.
    """
    compact = _VISUAL.sub("", caller_id) if isinstance(caller_id, str) else ""
    if not _CALLER_ID.match(compact):
        raise DialError("a caller ID must be a phone number of 3 to 16 digits, + allowed first")
    host = _HOST.match(target_uri)
    if host is None:
        raise DialError(f"no domain in {target_uri!r} to present a caller ID in")
    return f"<sip:{compact}@{host.group(1)}>"
