# SPDX-License-Identifier: GPL-2.0-or-later
"""The words of supervisor monitoring that the engine and the console share (plain Python).

A supervisor's engine calls the agent's engine with the header
:data:`MONITOR_HEADER` whose value is ``<grant id>`` or ``<grant id>;mode=<mode>``:
the grant id is an opaque random token (never patient data) that only a
supervisor could have created; the agent's console looks it up and checks it
before the agent's engine answers. Once connected the supervisor switches mode
with a digit (:data:`DIGIT_MODES`, as FreeSWITCH's eavesdrop keys) and leaves by
hanging up.
"""

from __future__ import annotations

import re

from sip.plain import plain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final, Literal

    MonitorMode = Literal["listen", "whisper", "barge"]
    """listen: hears patient and agent, heard by nobody; whisper: also speaks to the agent
    only; barge: speaks to both."""

MONITOR_HEADER: Final = "X-Careline-Monitor"
"""The SIP header that makes an INVITE a monitor request."""

MODES: tuple[MonitorMode, ...] = ("listen", "whisper", "barge")
"""Every mode (each of :data:`MonitorMode`), in the order of their digits."""
DIGIT_MODES: dict[str, MonitorMode] = {"1": "listen", "2": "whisper", "3": "barge"}
"""The digit a supervisor presses in the call to switch to each mode."""
MODE_DIGITS: dict[MonitorMode, str] = {mode: digit for digit, mode in DIGIT_MODES.items()}
"""The digit of each mode."""

GRANT_ID = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
"""What a grant id looks like: URL-safe base64 of random bytes (it names a file too)."""

REFUSALS: dict[str, tuple[int, str]] = {
    "malformed": (400, "malformed monitor request"),
    "unknown_grant": (403, "no such monitor grant"),
    "expired": (403, "monitor grant expired"),
    "future_grant": (403, "monitor grant dated in the future"),
    "used": (403, "monitor grant already used"),
    "not_supervisor": (403, "monitor grant not made by a supervisor"),
    "unsafe_grant": (403, "monitor grant file is not safe"),
    "other_agent": (403, "monitor grant is for another agent"),
    "other_call": (403, "monitor grant is for another call"),
    "mode_not_granted": (403, "monitor mode not granted"),
    "no_call": (480, "the monitored call is not live"),
    "no_slot": (486, "no free call slot on the agent's phone"),
    "too_many": (486, "too many supervisor requests on the agent's phone"),
    "no_decision": (480, "the agent's console did not check the grant"),
}
"""Why a monitor request is refused: the SIP status and the reason phrase the
supervisor sees (fixed text: nothing a caller sent, no patient data)."""


class MonitorRequestError(ValueError):
    """A monitor header that is not ``<grant id>[;mode=<mode>]``."""


@plain(frozen=True)
class MonitorRequest:
    """What a monitor INVITE asks for."""

    grant: str
    """The grant id (validated against :data:`GRANT_ID`)."""
    mode: MonitorMode
    """The mode to start in."""


def parse_monitor_header(value: str) -> MonitorRequest:
    """The request in a :data:`MONITOR_HEADER` value; :class:`MonitorRequestError` if bad."""
    if len(value) > 256:
        raise MonitorRequestError("monitor header too long")
    grant, _, params = value.strip().partition(";")
    grant = grant.strip()
    if not GRANT_ID.match(grant):
        raise MonitorRequestError("not a grant id")
    mode: str = "listen"
    if params:
        name, sep, wanted = params.partition("=")
        if name.strip().lower() != "mode" or not sep:
            raise MonitorRequestError("unknown monitor parameter")
        mode = wanted.strip().lower()
    for known in MODES:
        if mode == known:
            return MonitorRequest(grant, known)
    raise MonitorRequestError("unknown monitor mode")


def monitor_header(grant: str, mode: MonitorMode) -> str:
    """The header value asking for ``mode`` with ``grant`` (raises on a bad grant id)."""
    if not GRANT_ID.match(grant):
        raise MonitorRequestError("not a grant id")
    if mode not in MODES:
        raise MonitorRequestError("unknown monitor mode")
    return f"{grant};mode={mode}"


def __getattr__(name: str) -> object:
    """``MonitorMode`` for code that imports it at run time (the console): built then, from
    :mod:`typing`, which the engine does not load for a type that only checkers read."""
    if name == "MonitorMode":
        from typing import Literal

        return Literal[MODES]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
