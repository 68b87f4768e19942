# SPDX-License-Identifier: GPL-2.0-or-later
"""The notes box: it belongs to exactly one call at a time, or to none.

Which call: the inbound call the agent is talking on; with none, the held
inbound call the agent has selected, else the first one held (an attached
console, a call taken off hold — whatever event got it there). Outbound legs
(a consult, a dial-out) never take the box from the patient's call. With no
such call the box is empty and read-only, so nothing typed is saved nowhere.

Every change is saved a second after typing stops — an emptied box too, so
deleted text does not come back — and whenever the box moves to another call
or its call ends (before the wrap-up takes the notes). The latest text of
each call is also kept in memory: the wrap-up pre-fills from it even when a
full disk is holding the save back.
"""

from __future__ import annotations

from textual.timer import Timer
from textual.widgets import TextArea

from console.controllers.base import Context, Controller
from console.core.calls import LiveCall

SAVE_DELAY = 1.0
"""Seconds after the last keystroke in the notes box before they are saved."""
NO_CALL = "Notes open when you answer a call."
"""The read-only box's placeholder."""


class NotesFlow(Controller):
    """Ties the agent screen's notes box (``#notes``) to one call and saves it."""

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.call_id: str | None = None
        """The call the box belongs to (None: no call, the box is read-only)."""
        self._texts: dict[str, str] = {}
        """The latest text of every call the box has held (this console's life)."""
        self._saved: dict[str, str] = {}
        """The text last handed to the store, per call."""
        self._timer: Timer | None = None

    @property
    def box(self) -> TextArea:
        """The notes box."""
        return self.screen.query_one("#notes", TextArea)

    def mount(self) -> None:
        """Start read-only: no call yet."""
        self.box.read_only = True
        self.box.placeholder = NO_CALL

    def target(self) -> LiveCall | None:
        """The call the box should belong to now (see the module docstring)."""
        queue = self.queue
        active = queue.active()
        if active is not None and active.direction == "inbound" and active.state == "active":
            return active
        held = [call for call in queue.held() if call.direction == "inbound"]
        if not held:
            return None
        selected = self.selected_call()
        return selected if selected is not None and selected in held else held[0]

    async def follow(self) -> None:
        """Move the box to the call it should belong to (after every engine fact)."""
        target = self.target()
        target_id = target.id if target is not None else None
        if target_id == self.call_id:
            return
        box = self.box
        # The box changes hands: what it holds now is the old call's; nothing typed
        # until the new call's text is in may land on either, so it is read-only.
        old_id, old_text = self.call_id, box.text
        box.read_only = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        text = ""
        if target_id is not None:
            known = self._texts.get(target_id)
            text = known if known is not None else await self._stored(target_id)
            self._texts[target_id] = text  # so setting it below does not count as typing
        self.call_id = target_id
        box.text = text
        box.read_only = target_id is None
        box.placeholder = "" if target_id is not None else NO_CALL
        if old_id is not None:
            await self._save(old_id, old_text)
        now = self.target()
        if (now.id if now is not None else None) != target_id:
            await self.follow()  # the calls moved on while this one was read

    def typed(self) -> None:
        """The text changed: save it a second after typing stops."""
        if self.call_id is None or self._texts.get(self.call_id) == self.box.text:
            return  # no call, or the text was set by follow(), not typed
        self._texts[self.call_id] = self.box.text
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.screen.set_timer(SAVE_DELAY, self.save)

    async def save(self) -> None:
        """Save the box to its call if it changed since the last save (empty too)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.call_id is not None:
            await self._save(self.call_id, self.box.text)

    async def _save(self, call_id: str, text: str) -> None:
        self._texts[call_id] = text
        if self._saved.get(call_id) == text:
            return
        self._saved[call_id] = text
        self.services.recorder.save_notes(call_id, text)

    def renamed(self, old_id: str, new_id: str) -> None:
        """The call goes on under a new id (``call.replaced``): so do its notes
        (written under it by the next :meth:`save`, once the new call is recorded)."""
        if not new_id:
            return
        if old_id == self.call_id:
            self._texts[new_id] = self.box.text
            self.call_id = new_id
        elif old_id in self._texts:
            self._texts[new_id] = self._texts[old_id]

    async def text_of(self, call_id: str) -> str:
        """The latest notes of a call: this console's memory first, else the store's."""
        if call_id == self.call_id:
            return self.box.text
        if call_id in self._texts:
            return self._texts[call_id]
        return await self._stored(call_id)

    async def _stored(self, call_id: str) -> str:
        text = await self.services.store.call_notes(call_id)
        self._saved[call_id] = text
        return text

    def forget(self, call_id: str) -> None:
        """The call is wrapped up: its text need not be kept in memory any more."""
        if call_id != self.call_id:
            self._texts.pop(call_id, None)
            self._saved.pop(call_id, None)
