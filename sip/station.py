# SPDX-License-Identifier: GPL-2.0-or-later
"""The station leg: a call the engine keeps up to the agent's own phone.

In ``station`` mode the agent works from any phone: when they sign in the
engine calls their number, and once that phone answers the leg stays up for
the whole session; every patient call the agent takes is bridged to it in the
conference bridge (:class:`sip.agent_audio.AgentAudio`). The leg is not a
patient call: it never shows in the call list or the queue, but it does use
one of the library's call slots.
"""

from __future__ import annotations

from collections.abc import Callable

import pjsua2 as pj

from sip.callbacks import PjCall
from sip.dialplan import DialError, resolve
from sip.engine_log import logger
from sip.media import active_audio
from sip.settings import EngineSettings
from sip.sipmsg import network_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from sip.callbacks import EngineCallbacks

log = logger(__name__)

STATION_RID = "station"
"""The record id the station leg's PjCall carries (no patient call ever has it)."""


if TYPE_CHECKING:

    class StationHost(Protocol):
        """What the station leg needs of the engine."""

        settings: EngineSettings
        account: pj.Account | None

        def _callbacks(self) -> EngineCallbacks: ...
        def defer(self, delay: float, action: Callable[[], None]) -> None: ...
        def hangup_pj(self, call: PjCall, code: int) -> None: ...


class StationError(RuntimeError):
    """The station phone cannot be called (message fit for the agent)."""


def _why_down(code: int, reason: str, was_up: bool) -> str:
    if was_up:
        return "your phone hung up"
    if code in (486, 600):
        return "your phone is busy"
    if code in (408, 480, 487):
        return "your phone did not answer"
    if code in (404, 484, 604):
        return "your phone's number was not found"
    if code == 488:
        return "your phone refused the call's audio (488: codecs or encryption)"
    if code:
        return f"the call to your phone failed ({code} {reason[:80]})"
    return "the call to your phone failed"


class StationLeg:
    """Calls the agent's phone, reports its state, hands its audio to the bridge."""

    def __init__(
        self,
        host: StationHost,
        on_audio: Callable[[pj.AudioMedia | None], None],
        on_change: Callable[[], None],
    ) -> None:
        self._host = host
        self._on_audio = on_audio
        self._on_change = on_change
        self.state = "off"
        self.detail = ""
        self.call: PjCall | None = None
        self._attempt = 0
        self._call_again = False
        """Asked to connect while the previous leg was still being hung up."""

    @property
    def live(self) -> bool:
        """True while the leg holds a call slot (calling or up)."""
        return self.call is not None

    def fact(self) -> dict[str, Any]:
        """State, detail and the number called, as a protocol object."""
        return {
            "state": self.state,
            "detail": self.detail,
            "number": self._host.settings.audio.station_number,
        }

    def _set(self, state: str, detail: str = "") -> None:
        if (state, detail) != (self.state, self.detail):
            self.state, self.detail = state, detail
            self._on_change()

    # -------------------------------------------------------------- commands
    def target_uri(self) -> str:
        """The URI the leg calls; StationError when it cannot be called at all."""
        host = self._host
        number = host.settings.audio.station_number
        if not number:
            raise StationError("no station phone is configured (audio.station.number)")
        if host.account is None:
            raise StationError("the phone is not ready")
        domain = host.settings.account.domain if host.settings.account else ""
        try:
            return resolve(number, host.settings.dial, domain).uri
        except DialError as exc:
            raise StationError(f"audio.station.number: {exc}") from None

    def connect(self) -> None:
        """Call the agent's phone; nothing happens if the leg is already calling or up."""
        if self.call is not None:
            # Still hanging up after a disconnect: call again once it is gone.
            self._call_again = self.state == "off"
            return
        host = self._host
        number = host.settings.audio.station_number
        uri = self.target_uri()
        call = PjCall(host._callbacks(), host.account, pj.PJSUA_INVALID_ID, STATION_RID)
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except pj.Error as exc:
            raise StationError(f"cannot call your phone: {exc.reason}") from None
        self.call = call
        self._attempt += 1
        attempt = self._attempt
        self._set("calling", f"calling {number}")
        host.defer(host.settings.audio.station_answer_seconds, lambda: self._give_up(attempt))

    def disconnect(self) -> None:
        """Hang the leg up (sign-out, another mode, shutdown)."""
        self._call_again = False
        if self.call is not None:
            self._host.hangup_pj(self.call, 200 if self.state == "up" else 487)
        self._set("off")

    def _give_up(self, attempt: int) -> None:
        if attempt == self._attempt and self.state == "calling" and self.call is not None:
            self._host.hangup_pj(self.call, 487)
            seconds = self._host.settings.audio.station_answer_seconds
            self._set("down", f"your phone did not answer in {seconds} s")

    # ------------------------------------------------------------- callbacks
    def on_call_state(self, call: PjCall) -> None:
        """The leg's INVITE session changed state."""
        info = call.getInfo()
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            if self.state == "calling":  # not after a disconnect (a 200 crossing our CANCEL)
                self._set("up", "")
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            was_up = self.state == "up"
            self.call = None  # released in its DISCONNECTED callback (see PhoneEngine._finish)
            self._on_audio(None)
            if self.state == "calling" or was_up:
                self._set(
                    "down",
                    _why_down(int(info.lastStatusCode), network_text(info.lastReason), was_up),
                )
            if self._call_again:
                self._call_again = False
                self._host.defer(0, self._connect_again)

    def _connect_again(self) -> None:
        try:
            self.connect()
        except StationError as exc:
            self._set("down", str(exc))

    def on_media_state(self, call: PjCall) -> None:
        """The leg's audio is up: it becomes the agent's ear and mouth."""
        audio = active_audio(call)
        if audio is not None:
            self._on_audio(audio)
