"""Messages that carry engine facts into the Textual message pump."""

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
