# SPDX-License-Identifier: GPL-2.0-or-later
"""Messages that carry engine and session facts into the Textual message pump,
and the typed messages controllers post to the agent screen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.message import Message

from console.core.events import AnyEvent, decode
from console.core.phone import PhoneStatus


class PhoneEvent(Message):
    """An event from the phone engine, decoded once here (the protocol object in,
    a typed event out: see ``console/core/events.py``)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        super().__init__()
        self.event: AnyEvent = decode(raw)


class PhoneStatusChanged(Message):
    """The phone went online or offline."""

    def __init__(self, status: PhoneStatus) -> None:
        super().__init__()
        self.status = status


class SignedIn(Message, bubble=False):
    """The agent is signed in: once per console start (``careline run`` or
    ``attach``), after the sign-in screen or at once when there is none
    (``session.sign_in``). Posted to the agent screen (and for it alone)."""

    def __init__(self, agent_id: str) -> None:
        super().__init__()
        self.agent_id = agent_id
        """``agent.id`` of the agent who signed in."""


class Unlocked(Message, bubble=False):
    """The agent unlocked the screen (wrap-ups held back while locked may open)."""


class PatientVerified(Message):
    """The caller on ``call_id`` was verified: the script's patient placeholders fill in."""

    def __init__(self, call_id: str) -> None:
        super().__init__()
        self.call_id = call_id


class HubSyncChanged(Message, bubble=False):
    """The hub sync's state for the status bar: (text, needs the agent's attention)."""

    def __init__(self, label: tuple[str, bool]) -> None:
        super().__init__()
        self.label = label


class StorageChanged(Message, bubble=False):
    """What the status bar says about writes the disk refused ("" when all is saved)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
