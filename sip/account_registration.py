# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent's account at the registrar: whether the phone is registered, and why not.

:class:`AccountRegistration` keeps the registration fact the engine reports
(``registration`` events, ``status``), follows pjsua's REGISTER outcomes,
answers the ``register`` command and un-registers at shutdown.
"""

from __future__ import annotations

import contextlib
import time

import pjsua2 as pj

from sip.protocol import CommandError, ErrorCode, Event
from sip.registration import describe_registration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sip.callbook import EngineHost

UNREGISTER_SECONDS = 2.0
"""How long teardown waits for the un-REGISTER to be answered."""


class AccountRegistration:
    """The registration state of the agent's account, as a protocol object (:attr:`fact`)."""

    def __init__(self, host: EngineHost) -> None:
        self._host = host
        self.fact: dict[str, Any] = {"state": "none"}

    def started(self) -> None:
        """The account exists: with a registrar configured, it is registering now."""
        account = self._host.settings.account
        if account is not None:
            self.fact = {"state": "registering", "registrar": account.registrar}

    def on_reg_state(self, code: int, reason: str, expiration: int) -> None:
        """Registration progressed (REGISTER answered, failed, or refreshed)."""
        fact = describe_registration(code, reason, expiration, self._host.settings.account)
        changed = fact["state"] != self.fact.get("state") or fact.get("code") != (
            self.fact.get("code")
        )
        self.fact = fact
        if changed or fact["state"] == "failed":
            self._host.emit(Event.REGISTRATION, **fact)

    def cmd_register(self, message: dict[str, Any]) -> dict[str, Any]:
        """Re-register now (``refresh``) or remove the registration (``unregister``)."""
        action = message.get("action", "refresh")
        if action not in ("refresh", "unregister"):
            raise CommandError(ErrorCode.BAD_REQUEST, "action must be refresh or unregister")
        account = self._host.account
        if account is None or self._host.settings.account is None:
            raise CommandError(ErrorCode.INVALID_STATE, "no account is configured (sip.account)")
        account.setRegistration(action == "refresh")
        self.fact = {
            **self.fact,
            "state": "registering" if action == "refresh" else "unregistering",
        }
        return {"action": action}

    def unregister(self, ep: pj.Endpoint) -> None:
        """Remove a registration that is up, waiting a little for the registrar's answer."""
        account = self._host.account
        if account is None or self.fact.get("state") != "registered":
            return
        with contextlib.suppress(pj.Error):
            account.setRegistration(False)
            deadline = time.monotonic() + UNREGISTER_SECONDS
            while self.fact.get("state") == "registered" and time.monotonic() < deadline:
                ep.libHandleEvents(10)
