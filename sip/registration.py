# SPDX-License-Identifier: GPL-2.0-or-later
"""Registration outcomes in words an agent (and a supervisor) can act on."""

from __future__ import annotations

from sip.protocol import utc_now_iso
from sip.settings import AccountSettings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_REASONS = {
    401: "authentication failed: the registrar did not accept the credentials (401)",
    407: "authentication failed: the proxy did not accept the credentials (407)",
    403: "forbidden (403): wrong password, or this user may not register here",
    404: "unknown user (404): the registrar does not know this address",
    408: "timeout: the registrar did not answer (408)",
    423: "interval too brief (423): the registrar wants a longer expiry",
    480: "registrar temporarily unavailable (480)",
    500: "registrar error (500)",
    502: "bad gateway (502): a proxy could not reach the registrar",
    503: "service unavailable (503): the registrar or the network is down",
    504: "gateway timeout (504)",
}

# pjsip reports a TLS connection that failed as a locally made 503 whose reason
# is the pj_status_t text, e.g. "SSL certificate verification error
# (PJSIP_TLS_ECERTVERIF)" for an untrusted issuer or another name alike.
_TLS_CERT_MARKERS = ("PJSIP_TLS_ECERTVERIF", "certificate verification")
_TLS_MARKERS = ("PJSIP_TLS_", "SSL", "TLS")


def _tls_failure(reason: str) -> str | None:
    """What to tell the agent when the REGISTER failed in the TLS layer (None: it did not).

    The words before the first colon are the gist the status bar shows.
    """
    text = reason[:120]
    if any(marker in reason for marker in _TLS_CERT_MARKERS):
        return (
            "TLS certificate not trusted: the registrar's certificate could not be verified "
            f"({text}); it is not signed by a CA in sip.tls.ca_file, or not issued to the "
            "registrar's address: check sip.tls.ca_file and sip.account.registrar"
        )
    if any(marker in reason for marker in _TLS_MARKERS):
        return (
            f"TLS connection failed: no TLS session with the registrar ({text}): "
            "check sip.tls and sip.account.registrar"
        )
    return None


def describe_registration(
    code: int, reason: str, expiration: int, account: AccountSettings | None
) -> dict[str, Any]:
    """The ``registration`` event payload for one REGISTER outcome."""
    fact: dict[str, Any] = {
        "code": code,
        "sip_reason": reason[:200],
        "registrar": account.registrar if account else "",
        "aor": f"sip:{account.user}@{account.domain}" if account else "",
        "at": utc_now_iso(),
    }
    if 200 <= code < 300:
        if expiration > 0:
            fact.update(
                state="registered", expires=expiration, detail=f"registered for {expiration} s"
            )
        else:
            fact.update(state="unregistered", expires=0, detail="unregistered")
        return fact
    detail = _tls_failure(reason) or _REASONS.get(code)
    if detail is None:
        detail = f"registration failed: {code} {reason}".strip()
    retry = account.retry_interval if account else 0
    fact.update(state="failed", expires=0, detail=detail, retry_in=retry)
    return fact
