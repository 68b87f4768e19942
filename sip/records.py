# SPDX-License-Identifier: GPL-2.0-or-later
"""What the engine knows about a call, as plain values (no pjsua2 here)."""

from __future__ import annotations

from sip.plain import field, plain
from sip.protocol import CallState, EndedBy, utc_now_iso

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@plain()
class CallRecord:
    """One call's facts and timeline; its ``snapshot()`` is the protocol's call object."""

    id: str
    direction: str
    """``inbound`` or ``outbound``."""
    remote_name: str
    remote_number: str
    remote_uri: str
    called_uri: str
    received_at: str
    queue: str = ""
    """X-Queue header, else the called user: what routed the call here."""
    headers: dict[str, str] = field(default_factory=dict)
    state: CallState = CallState.RINGING
    answered_at: str | None = None
    ended_at: str | None = None
    local_hold: bool = False
    remote_hold: bool = False
    pending_hold: bool | None = None
    """The hold (True) or resume (False) re-INVITE awaiting its answer."""
    muted: bool = False
    auto_answered: bool = False
    consult_for: str | None = None
    """For a consult call: the id of the call being transferred."""
    consult_id: str | None = None
    """For a call being consult-transferred: the consult call's id."""
    transfer: dict[str, Any] | None = None
    """The transfer in progress or last attempted: target, kind, status."""
    ended_locally_by: EndedBy | None = None
    reject_code: int | None = None
    turned_away: bool = False
    codec: dict[str, Any] | None = None
    """The audio codec negotiated last (``name``, ``clock_rate``, ``channels``)."""
    codec_facts: int = 0
    """How many ``codec`` facts the timeline holds (bounded, see CallControl._note_codec)."""
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def mark(self, fact: str, **details: Any) -> None:
        """Append a timestamped fact to the call's timeline."""
        self.timeline.append({"at": utc_now_iso(), "fact": fact, **details})

    @property
    def live(self) -> bool:
        """Not ended."""
        return self.state != CallState.ENDED

    def snapshot(self) -> dict[str, Any]:
        """The call as a protocol object."""
        return {
            "id": self.id,
            "direction": self.direction,
            "state": str(self.state),
            "caller": {
                "display_name": self.remote_name,
                "number": self.remote_number,
                "uri": self.remote_uri,
            },
            "called_uri": self.called_uri,
            "queue": self.queue,
            "headers": dict(self.headers),
            "received_at": self.received_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "hold": {"local": self.local_hold, "remote": self.remote_hold},
            "muted": self.muted,
            "auto_answered": self.auto_answered,
            "consult_for": self.consult_for,
            "consult_id": self.consult_id,
            "transfer": dict(self.transfer) if self.transfer else None,
            "codec": dict(self.codec) if self.codec else None,
            "timeline": list(self.timeline),
        }
