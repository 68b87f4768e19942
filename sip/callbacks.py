# SPDX-License-Identifier: GPL-2.0-or-later
"""pjsua2 subclasses whose callbacks forward plain facts to the engine.

Every callback is guarded: a Python exception unwinding into pjsip's C++
would abort the process. The objects here never leave the engine thread.
"""

from __future__ import annotations

from collections.abc import Callable

import pjsua2 as pj

from sip.codecs import sdp_body
from sip.engine_log import logger
from sip.sipmsg import network_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

log = logger(__name__)


if TYPE_CHECKING:

    class EngineCallbacks(Protocol):
        """What the pjsua2 callbacks tell the engine (see :class:`sip.engine.PhoneEngine`)."""

        def on_call_state(self, call: PjCall) -> None: ...
        def on_media_state(self, call: PjCall) -> None: ...
        def on_reinvite_failed(self, call: PjCall, status: int, reason: str) -> None: ...
        def on_dtmf(self, call: PjCall, digit: str, method: str) -> None: ...
        def on_transfer_status(self, call: PjCall, code: int, reason: str, final: bool) -> bool: ...
        def on_transfer_request(self, call: PjCall, target: str) -> tuple[int, PjCall | None]: ...
        def on_replaced(self, call: PjCall, new_pj_id: int) -> PjCall: ...
        def on_incoming(self, account: PjAccount, pj_call_id: int, raw: str) -> None: ...
        def on_reg_state(self, code: int, reason: str, expiration: int) -> None: ...
        def on_library_rejected(self, status: int, reason: str, raw: str) -> None: ...
        def on_offer(self, sdp: str) -> None: ...
        def on_sdp_created(self) -> None: ...


def guarded(callback: Callable[..., None]) -> Callable[..., None]:
    """Keep Python exceptions from unwinding into pjsip (which aborts)."""

    def wrapper(*args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            log.exception("engine callback %s failed", callback.__name__)

    wrapper.__name__ = callback.__name__
    return wrapper


class PjCall(pj.Call):  # type: ignore[misc]
    """A pjsua2 call tied to one engine call record by ``rid``."""

    def __init__(self, engine: EngineCallbacks, account: pj.Account, pj_call_id: int, rid: str):
        super().__init__(account, pj_call_id)
        self.engine = engine
        self.rid = rid

    @guarded
    def onCallState(self, _prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        self.engine.on_call_state(self)

    @guarded
    def onCallMediaState(self, _prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        self.engine.on_media_state(self)

    @guarded
    def onCallTsxState(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        # Only the outcome of our own re-INVITEs matters here (a refused hold).
        event = prm.e
        if event.type != pj.PJSIP_EVENT_TSX_STATE:
            return
        tsx = event.body.tsxState.tsx
        if (
            tsx.role == pj.PJSIP_ROLE_UAC
            and tsx.method == "INVITE"
            and tsx.state == pj.PJSIP_TSX_STATE_COMPLETED
            and tsx.statusCode >= 300
            and self.getInfo().state == pj.PJSIP_INV_STATE_CONFIRMED
        ):
            self.engine.on_reinvite_failed(self, int(tsx.statusCode), network_text(tsx.statusText))

    @guarded
    def onCallRxOffer(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        # A re-INVITE/UPDATE offer: our answer is built right after this returns.
        self.engine.on_offer(network_text(prm.offer.wholeSdp))

    @guarded
    def onCallSdpCreated(self, _prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        self.engine.on_sdp_created()

    @guarded
    def onDtmfDigit(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        method = "info" if prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO else "rfc4733"
        self.engine.on_dtmf(self, network_text(prm.digit), method)

    @guarded
    def onCallTransferStatus(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        prm.cont = self.engine.on_transfer_status(
            self, int(prm.statusCode), network_text(prm.reason), bool(prm.finalNotify)
        )

    @guarded
    def onCallTransferRequest(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        code, new_call = self.engine.on_transfer_request(self, network_text(prm.dstUri))
        prm.statusCode = code
        if new_call is not None:
            prm.newCall = new_call

    @guarded
    def onCallReplaced(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        prm.newCall = self.engine.on_replaced(self, int(prm.newCallId))


class PjAccount(pj.Account):  # type: ignore[misc]
    """The agent's account: incoming calls and registration state."""

    def __init__(self, engine: EngineCallbacks):
        super().__init__()
        self.engine = engine

    @guarded
    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        self.engine.on_incoming(self, int(prm.callId), network_text(prm.rdata.wholeMsg))

    @guarded
    def onRegState(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        self.engine.on_reg_state(int(prm.code), network_text(prm.reason), int(prm.expiration))


class PjEndpoint(pj.Endpoint):  # type: ignore[misc]
    """The library endpoint; sees every new INVITE first, reports those pjsua refused itself."""

    def __init__(self) -> None:
        super().__init__()
        self.engine: EngineCallbacks | None = None

    @guarded
    def onSelectAccount(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        # Called for a new INVITE before pjsua builds our SDP for its offer.
        if self.engine is not None:
            raw = network_text(prm.rdata.wholeMsg)
            if raw.startswith("INVITE "):
                self.engine.on_offer(sdp_body(raw))

    @guarded
    def onRejectedIncomingCall(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        if self.engine is not None:
            self.engine.on_library_rejected(
                int(prm.statusCode),
                network_text(prm.reason),
                network_text(prm.rdata.wholeMsg),
            )
