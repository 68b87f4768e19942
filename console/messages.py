"""Messages that carry engine and session facts into the Textual message pump."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from console.core.phone import PhoneStatus


class PhoneEvent(Message):
    """An event from the phone engine (a protocol event object)."""

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__()
        self.event = event


class PhoneStatusChanged(Message):
    """The phone went online or offline."""

    def __init__(self, status: PhoneStatus) -> None:
        super().__init__()
        self.status = status


class SignedIn(Message):
    """The agent is signed in: once per console start (``careline run`` or
    ``attach``), after the sign-in screen or at once when there is none
    (``session.sign_in``). Posted to the agent screen."""

    def __init__(self, agent_id: str) -> None:
        super().__init__()
        self.agent_id = agent_id
        """``agent.id`` of the agent who signed in."""
