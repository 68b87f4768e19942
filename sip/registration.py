"""Registration outcomes in words an agent (and a supervisor) can act on."""

from __future__ import annotations

from typing import Any

from sip.protocol import utc_now_iso
from sip.settings import AccountSettings

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
    detail = _REASONS.get(code)
    if detail is None:
        detail = f"registration failed: {code} {reason}".strip()
    retry = account.retry_interval if account else 0
    fact.update(state="failed", expires=0, detail=detail, retry_in=retry)
    return fact
