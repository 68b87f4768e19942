"""The agent's main screen: call queue, active call, notes, recent calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Label, TextArea

from console.core.calls import CallQueue, LiveCall
from console.core.phone import PhoneError
from console.core.text import caller_label
from console.messages import PhoneEvent, PhoneStatusChanged
from console.widgets.active_call import ActiveCallPanel
from console.widgets.call_queue import CallQueueTable
from console.widgets.history import CallHistory
from console.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from console.app import CarelineApp


class AgentScreen(Screen[None]):
    """Where an agent takes calls: everything on one screen, every action one key."""

    BINDINGS = [
        Binding(
            "a",
            "answer",
            "Answer",
            id="call.answer",
            tooltip="Answer the selected ringing call (or the longest waiting)",
        ),
        Binding("h", "hangup", "Hang up", id="call.hangup", tooltip="End the call in progress"),
        Binding(
            "d",
            "decline",
            "Decline",
            id="call.decline",
            tooltip="Refuse the selected ringing call (486 Busy Here)",
        ),
        Binding("n", "notes", "Notes", id="notes.focus", tooltip="Type notes for this call"),
        Binding(
            "escape",
            "leave_notes",
            "Done typing",
            id="notes.leave",
            show=False,
            tooltip="Back to the call queue",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.queue = CallQueue()
        self.notes_call_id: str | None = None
        self._ticker: Timer | None = None

    @property
    def careline(self) -> CarelineApp:
        """The app, typed."""
        return cast("CarelineApp", self.app)

    def compose(self) -> ComposeResult:
        """Status bar, queue and active call side by side, notes, history, footer."""
        ui = self.careline.config.ui
        yield StatusBar(id="status")
        with Horizontal(id="workspace"):
            with Vertical(id="queue-pane", classes="pane"):
                yield Label("Call queue", classes="pane-title")
                yield CallQueueTable(max_caller_chars=ui.max_caller_chars, id="queue")
                yield Label("No calls waiting.", id="queue-empty", classes="empty")
            with Vertical(id="call-pane", classes="pane"):
                yield Label("Active call", classes="pane-title")
                yield ActiveCallPanel(max_caller_chars=ui.max_caller_chars, id="active")
        with Vertical(id="notes-pane", classes="pane"):
            yield Label("Notes (n to type, Esc when done)", classes="pane-title")
            yield TextArea(id="notes", soft_wrap=True, show_line_numbers=False)
        with Vertical(id="history-pane", classes="pane"):
            yield Label("Recent calls", classes="pane-title")
            yield CallHistory(max_caller_chars=ui.max_caller_chars, id="history")
        yield Footer()

    async def on_mount(self) -> None:
        """Fill the history and start with the queue focused."""
        status = self.query_one(StatusBar)
        status.agent_name = self.careline.config.agent.name
        self.query_one(CallQueueTable).focus()
        self._refresh_calls()
        await self._refresh_history()

    # ------------------------------------------------------------ engine facts
    @on(PhoneStatusChanged)
    async def _phone_status(self, message: PhoneStatusChanged) -> None:
        status = self.query_one(StatusBar)
        status.online = message.status.online
        status.detail = message.status.listen if message.status.online else message.status.detail
        if not message.status.online:
            lost = self.queue.clear()
            if lost:
                await self.careline.recorder.engine_lost(lost)
                await self._save_notes()
                self.notify(
                    f"The phone engine stopped; {len(lost)} call(s) were lost. "
                    "Restarting the phone…",
                    severity="error",
                    markup=False,
                )
            self._refresh_calls()
            await self._refresh_history()

    @on(PhoneEvent)
    async def _phone_event(self, message: PhoneEvent) -> None:
        event = message.event
        name = event.get("event")
        ended_with_notes = False
        if name == "hello":
            status = event.get("status") or {}
            self.queue.reset(list(status.get("calls", [])))
            self.query_one(StatusBar).capacity = int(status.get("max_calls", 4))
        elif name == "call.incoming":
            call = self.queue.apply(event)
            if call is not None:
                self._alert_ringing(call)
        elif name == "call.state":
            call = self.queue.apply(event)
            if call is not None and call.state == "active" and self.notes_call_id != call.id:
                self._start_notes(call)
        elif name == "call.ended":
            call = self.queue.apply(event)
            ended_with_notes = call is not None and call.id == self.notes_call_id
        self._refresh_calls()
        # Screen first, disk second: the agent sees the ringing call without
        # waiting for an fsync; the writes still happen in event order.
        finished = await self.careline.recorder.record(event)
        if ended_with_notes:
            await self._save_notes()
        if finished:
            await self._refresh_history()

    def _alert_ringing(self, call: LiveCall) -> None:
        if self.careline.config.ui.bell:
            self.app.bell()
        # After the next frame: the ringing row paints first, the toast follows.
        self.call_after_refresh(
            self.notify,
            f"Ringing: {caller_label(call.caller_name, call.caller_number)}",
            title="Incoming call",
            markup=False,
            timeout=4,
        )

    # ------------------------------------------------------------------ display
    def _refresh_calls(self) -> None:
        now = datetime.now(UTC)
        calls = self.queue.calls()
        table = self.query_one(CallQueueTable)
        with self.app.batch_update():
            table.sync(calls, now)
            self.query_one("#queue-empty").display = not calls
            table.display = bool(calls)
            panel = self.query_one(ActiveCallPanel)
            panel.call = self.queue.active()
            panel.now = now
            self.query_one(StatusBar).calls = len(calls)
            # On the pane, not the screen: a screen class restyles every widget.
            self.query_one("#queue-pane").set_class(any(c.ringing for c in calls), "-ringing")
        # Tick only while there is something to count: an idle console does not redraw.
        if calls and self._ticker is None:
            self._ticker = self.set_interval(1, self._refresh_calls)
        elif not calls and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    async def _refresh_history(self) -> None:
        rows = await self.careline.store.recent_calls(self.careline.config.ui.history_size)
        self.query_one(CallHistory).show(rows)

    # ------------------------------------------------------------------- notes
    def _start_notes(self, call: LiveCall) -> None:
        """A newly answered call gets a fresh notes box (the old notes are saved)."""
        self.notes_call_id = call.id
        notes = self.query_one("#notes", TextArea)
        notes.text = ""

    async def _save_notes(self) -> None:
        if self.notes_call_id is None:
            return
        text = self.query_one("#notes", TextArea).text
        if text.strip():
            await self.careline.store.save_notes(self.notes_call_id, text)

    # ----------------------------------------------------------------- actions
    def _target_ringing(self) -> LiveCall | None:
        selected = self.query_one(CallQueueTable).selected_call_id()
        call = self.queue.get(selected) if selected else None
        if call is not None and call.ringing:
            return call
        ringing = self.queue.ringing()
        return ringing[0] if ringing else None

    def action_answer(self) -> None:
        """Answer the selected ringing call, or the one waiting longest."""
        if self.queue.active() is not None:
            self.notify(
                "Hang up the current call before answering another.",
                severity="warning",
                markup=False,
            )
            return
        call = self._target_ringing()
        if call is None:
            self.notify("No call is ringing.", severity="warning", markup=False)
            return
        self._send("answer", call.id)

    def action_hangup(self) -> None:
        """End the call in progress."""
        call = self.queue.active()
        if call is None:
            self.notify("There is no call in progress.", severity="warning", markup=False)
            return
        self._send("hangup", call.id)

    def action_decline(self) -> None:
        """Refuse the selected (or longest waiting) ringing call with 486 Busy Here."""
        call = self._target_ringing()
        if call is None:
            self.notify("No call is ringing.", severity="warning", markup=False)
            return
        self._send("reject", call.id, code=486)

    def action_notes(self) -> None:
        """Move the cursor into the notes box."""
        self.query_one("#notes", TextArea).focus()

    def action_leave_notes(self) -> None:
        """Back to the call queue."""
        self.query_one(CallQueueTable).focus()

    @work(group="phone-commands")
    async def _send(self, cmd: str, call_id: str, **args: Any) -> None:
        try:
            await self.careline.phone.command(cmd, call=call_id, **args)
        except PhoneError as exc:
            self.notify(f"Could not {cmd}: {exc}", severity="error", markup=False)
