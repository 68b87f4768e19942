"""The agent's main screen: queue, active call, patient and guidance panes, notes, history."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Label, TextArea

from console.core.agent_state import AgentState
from console.core.calls import CallQueue, LiveCall, parse_time
from console.core.phone import PhoneError
from console.core.scripts.models import Script
from console.core.text import caller_label
from console.core.wrap_up import CallbackChoice
from console.dialogs.availability import AvailabilityPicker
from console.dialogs.callbacks import CallbacksDialog
from console.dialogs.choice import ChoicePicker
from console.dialogs.dtmf_pad import DtmfPad
from console.dialogs.help import HelpScreen, KeyHelp
from console.dialogs.script_picker import ScriptPicker
from console.dialogs.target_picker import PickedTarget, TargetPicker
from console.messages import PhoneEvent, PhoneStatusChanged, SignedIn
from console.screens.agent_bindings import AGENT_BINDINGS
from console.screens.guidance_flow import GuidanceFlow
from console.screens.lost_calls_flow import LostCallsFlow
from console.screens.notes_flow import NotesFlow
from console.screens.patient_flow import PatientFlow
from console.screens.wrap_up_flow import WrapUpFlow
from console.widgets.active_call import ActiveCallPanel
from console.widgets.call_queue import CallQueueTable
from console.widgets.guidance import GuidancePane
from console.widgets.history import CallHistory
from console.widgets.patient_card import PatientCard
from console.widgets.red_flag import RedFlagBanner
from console.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from console.app import CarelineApp


HEARTBEAT_S = 60.0
"""Seconds between agent-state records when nothing changes (supervisors' "last heard")."""

COMPACT_HEIGHT = 30
"""Below this many rows the history pane gives its space to the workspace."""

_COMMAND_WORDS = {"audio": "switch the audio", "station": "call your phone"}
"""How a failed engine command reads in "Could not …", where its name does not fit."""

# Which actions apply in which situation drives both the footer and the palette.
_NEEDS_RINGING = {"answer", "decline"}
_NEEDS_CALL = {"hangup", "hold", "mute", "transfer", "consult", "dtmf"}
_NEEDS_CONSULT = {"complete", "cancel_consult", "swap"}


class AgentScreen(Screen[None]):
    """Where an agent takes calls: everything on one screen, every action one key."""

    BINDINGS = AGENT_BINDINGS

    def __init__(self) -> None:
        super().__init__()
        self.queue = CallQueue()
        self.agent = AgentState()
        self._ticker: Timer | None = None
        self._usable: tuple[bool, bool, bool, bool] | None = None
        self.signed_in = False
        """Set once the agent has signed in (station mode then calls their phone)."""
        self.patients = PatientFlow(self)
        """Screen pop, verification and the card, per call."""
        self.guidance = GuidanceFlow(self)
        """The call script, red flags and escalation, per call."""
        self.wrap_up = WrapUpFlow(self)
        """After-call work: wrap-up forms, drafts, interactions."""
        self.notes = NotesFlow(self)
        """The notes box, tied to one call at a time."""
        self.lost_calls = LostCallsFlow(self)
        """Calls lost with an engine or a console, and calls turned away: closed and recorded."""

    @property
    def careline(self) -> CarelineApp:
        """The app, typed."""
        return cast("CarelineApp", self.app)

    def compose(self) -> ComposeResult:
        """Status bar; queue and history beside call, patient and guidance; notes; footer."""
        ui = self.careline.config.ui
        yield StatusBar(clock=self.careline.now, id="status")
        yield RedFlagBanner(id="red-flag")
        with Horizontal(id="workspace"):
            with Vertical(id="left"):
                with Vertical(id="queue-pane", classes="pane"):
                    yield Label("Call queue", classes="pane-title")
                    yield CallQueueTable(max_caller_chars=ui.max_caller_chars, id="queue")
                    yield Label("No calls waiting.", id="queue-empty", classes="empty")
                with Vertical(id="history-pane", classes="pane"):
                    yield Label("Recent calls", classes="pane-title")
                    yield CallHistory(max_caller_chars=ui.max_caller_chars, id="history")
            with Vertical(id="right"):
                with Vertical(id="call-pane", classes="pane"):
                    yield ActiveCallPanel(max_caller_chars=ui.max_caller_chars, id="active")
                with VerticalScroll(id="patient-pane", classes="pane"):
                    yield Label("Patient", classes="pane-title")
                    yield PatientCard(id="patient")
                with Vertical(id="guidance-pane", classes="pane"):
                    yield Label("Guidance (g)", classes="pane-title")
                    yield GuidancePane(id="guidance")
        with Vertical(id="notes-pane", classes="pane"):
            yield Label("Notes (n to type, Esc when done)", classes="pane-title")
            yield TextArea(id="notes", soft_wrap=True, show_line_numbers=False)
        yield Footer()

    async def on_mount(self) -> None:
        """Fill the history and start with the queue focused."""
        self.query_one(StatusBar).agent_name = self.careline.config.agent.name
        self.query_one(CallQueueTable).focus()
        self.notes.mount()
        self.guidance.load()
        self._refresh_calls()
        await self.refresh_history()
        await self.wrap_up.restore()
        # A state record at least every minute: the wallboard's "last heard".
        self.set_interval(HEARTBEAT_S / 2, self._heartbeat)

    async def _heartbeat(self) -> None:
        await self.careline.floor.agent_state(
            self.agent, self.queue.active(), heartbeat_s=HEARTBEAT_S
        )

    def on_resize(self, event: events.Resize) -> None:
        """Small terminals (80×24) drop the history to keep the call panes usable."""
        self.set_class(event.size.height < COMPACT_HEIGHT, "-compact")

    # ------------------------------------------------------------ engine facts
    def _set_agent(self, agent: AgentState) -> None:
        self.agent = agent
        self.query_one(StatusBar).state = agent

    @on(PhoneStatusChanged)
    async def _phone_status(self, message: PhoneStatusChanged) -> None:
        status = message.status
        self._set_agent(replace(self.agent, phone_online=status.online, phone_detail=status.detail))
        if not status.online:
            lost = self.queue.clear()
            await self.notes.follow()  # saves the lost call's notes, empties the box
            await self.lost_calls.engine_lost(lost)
            self._refresh_calls()
            await self.refresh_history()
        # The floor sees the agent offline while the phone is (no calls can reach them).
        await self.careline.floor.agent_state(self.agent, self.queue.active())

    @on(PhoneEvent)
    async def _phone_event(self, message: PhoneEvent) -> None:
        event = message.event
        name = event.get("event")
        wrap_up: tuple[LiveCall, str | None] | None = None
        call: LiveCall | None = None
        before = self.agent
        self._set_agent(self.agent.apply(event))
        if name == "audio":
            self._audio_changed(before)
        elif name == "hello":
            if not self._apply_audio_choice():  # a switch to station calls the phone itself
                self._connect_station()
            self.queue.reset(list((event.get("status") or {}).get("calls", [])))
            for live in self.queue.calls():
                if live.direction == "inbound" and not self.patients.looked_up(live.id):
                    self.patients.lookup(live.id, live.caller_number)
        elif name == "call.replaced":  # the same conversation under a new call id
            self.notes.renamed(
                str(event.get("call_id", "")), str((event.get("new_call") or {}).get("id", ""))
            )
            call = self.queue.apply(event)
            if call is not None:
                self._react(name, call, event)
        elif name == "call.ended":
            call = self.queue.apply(event)
            call_id = str(event.get("call_id", ""))
            self.lost_calls.finished.add(call_id)
            if call is not None and call.direction == "inbound" and call.answered_at is not None:
                verified = self.patients.verified.get(call_id)
                wrap_up = (call, verified.id if verified else None)
            self.patients.forget(call_id)
        else:
            call = self.queue.apply(event)
            if call is not None:
                if name == "call.state" and call.state == "active" and call.direction == "inbound":
                    self.guidance.start(call)
                self._react(name, call, event)
        self._refresh_calls()
        # The engine's time of the event, parsed once for the floor and the wrap-up.
        at = parse_time(str(event.get("time") or "")) or self.careline.now()
        # The box follows the call: saved before it moves or its call's wrap-up opens.
        await self.notes.follow()
        await self._report_floor(name, call, event, at)
        if wrap_up is not None:
            # The draft is on disk before the call is closed (see LostCallsFlow.close).
            await self.wrap_up.call_ended(
                wrap_up[0], at, self.guidance.take(wrap_up[0].id), wrap_up[1]
            )
        elif name == "call.ended":
            self.guidance.take(str(event.get("call_id", "")))
            if call is not None and call.direction == "outbound":
                await self.wrap_up.outbound_ended(call, at)
        # Screen first, disk second: the agent sees the ringing call without
        # waiting for an fsync; the writes still happen in event order.
        if await self.careline.recorder.record(event):
            await self.refresh_history()
        if name == "call.replaced":
            await self.notes.save()  # under the new call's id, now that it is recorded
        if name == "hello":
            await self.lost_calls.close_left_open()
        elif name == "call.turned_away":
            await self.lost_calls.turned_away(event, at)

    async def _report_floor(
        self, name: object, call: LiveCall | None, event: dict[str, Any], at: datetime
    ) -> None:
        """Agent state and call events for the floor (supervisors, queue tail)."""
        floor = self.careline.floor
        if call is not None:
            if name == "call.incoming":
                await floor.call_event("offered", call, at=at)
            elif name == "call.state" and call.state == "active" and event.get("state") == "active":
                await floor.call_event("answered", call, at=at)
            elif name == "call.ended":
                if call.answered_at is not None:
                    kind = "ended"
                elif event.get("ended_by") == "caller":
                    kind = "abandoned"
                else:
                    kind = "missed"
                await floor.call_event(kind, call, at=at)
        await floor.agent_state(self.agent, self.queue.active())

    def _react(self, name: object, call: LiveCall, event: dict[str, Any]) -> None:
        if name == "call.incoming":
            self.patients.lookup(call.id, call.caller_number)
        if name == "call.outgoing":
            directory = self.careline.config.directory
            self.queue.name_outbound(call.id, {entry.number: entry.name for entry in directory})
        elif name == "call.incoming":
            self._alert_ringing(call)
        elif name == "call.transfer" and call.transfer_status == "failed":
            self.notify(
                f"Transfer failed ({event.get('detail') or event.get('sip_status')}); "
                "the caller is back with you.",
                severity="error",
                markup=False,
                timeout=8,
            )
        elif name == "call.transfer" and call.transfer_status == "succeeded":
            self.notify("Transfer completed.", markup=False)

    def _alert_ringing(self, call: LiveCall) -> None:
        if call.auto_answered:
            self.app.bell()  # auto-in: a beep instead of ringing
            return
        if self.careline.config.ui.bell:
            self.app.bell()
        # After the next frame: the ringing row paints first, the toast follows.
        self.call_after_refresh(self._ringing_toast, call)

    def _ringing_toast(self, call: LiveCall) -> None:
        # Over the lock or sign-in screen a toast must not name the caller (PHI).
        session = self.careline.session_lock
        if session.locked or session.signing_in:
            text = "A call is ringing"
        else:
            text = f"Ringing: {caller_label(call.caller_name, call.caller_number)}"
        self.notify(text, title="Incoming call", markup=False, timeout=4)

    # ------------------------------------------------------------------ display
    def _refresh_calls(self) -> None:
        now = self.careline.now()
        calls = self.queue.calls()
        table = self.query_one(CallQueueTable)
        with self.app.batch_update():
            table.sync(calls, now)
            self.query_one("#queue-empty").display = not calls
            table.display = bool(calls)
            panel = self.query_one(ActiveCallPanel)
            active = self.queue.active()
            pair = self.queue.consult_pair()
            if active is None and pair is not None:
                active = pair[0]
            if active is None and self.queue.held():
                # Nobody talking: show the held call the agent would take back.
                selected = self.selected_call()
                active = selected if selected and selected.local_hold else self.queue.held()[0]
            panel.call = active
            panel.consult = None
            if pair is not None and active is not None:
                panel.consult = pair[1] if active.id == pair[0].id else pair[0]
            panel.now = now
            self.query_one(StatusBar).calls = len(calls)
            # On the pane, not the screen: a screen class restyles every widget.
            self.query_one("#queue-pane").set_class(any(c.ringing for c in calls), "-ringing")
        # Rebuilding the footer is not free: only when the set of usable keys changes.
        self.patients.refresh()
        self.guidance.refresh()
        usable = (
            bool(self.queue.ringing()),
            self._current() is not None,
            self.queue.consult_pair() is not None,
            self.patients.verifiable() is not None,
        )
        if usable != self._usable:
            self._usable = usable
            self.refresh_bindings()
        # Tick only while there is something to count: an idle console does not redraw.
        if calls and self._ticker is None:
            self._ticker = self.set_interval(1, self._refresh_calls)
        elif not calls and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    async def refresh_history(self) -> None:
        """Show the latest finished calls from the store."""
        rows = await self.careline.store.recent_calls(self.careline.config.ui.history_size)
        self.query_one(CallHistory).show(rows)

    # ---------------------------------------------------------------- patients
    def action_verify(self) -> None:
        """Verify the caller's identity (or search for them first, if unknown)."""
        self.patients.verify()

    # ---------------------------------------------------------------- guidance
    def action_guidance(self) -> None:
        """Put the keys on the call script."""
        self.query_one(GuidancePane).focus()

    @on(GuidancePane.RedFlags)
    async def _red_flags(self, message: GuidancePane.RedFlags) -> None:
        await self.guidance.raised(message.flags)
        self.refresh_bindings()

    @on(GuidancePane.Changed)
    def _script_moved(self) -> None:
        self.guidance.refresh()

    @on(GuidancePane.SwitchRequested)
    def _switch_script(self) -> None:
        current = self.guidance.current()
        library = self.guidance.library
        if current is None or library is None:
            return
        call = current[0]

        def picked(script: Script | None) -> None:
            if script is not None:
                self.guidance.switch(call.id, script)

        self.app.push_screen(ScriptPicker(library.scripts, current[1].script.id), picked)

    def action_escalate(self) -> None:
        """Transfer the caller to the target for the red flag raised (one key)."""
        current = self.guidance.current()
        target = self.guidance.escalation_target()
        if current is None:
            return
        if target is None:
            self.notify(
                "No transfer target is configured for this red flag: follow the "
                "instruction in the banner (guidance.*_target in the config).",
                severity="error",
                markup=False,
                timeout=10,
            )
            return
        self._send("transfer", call=current[0].id, target=target.number)

    # ---------------------------------------------------------------- callbacks
    async def action_callbacks(self) -> None:
        """The callbacks list: dial one, or mark it done."""
        now = self.careline.now()
        due = await self.careline.interactions.callbacks(now)

        def chosen(choice: CallbackChoice | None) -> None:
            if choice is None:
                return
            if choice.action == "dial":
                self.wrap_up.dial_callback(choice.callback)
            else:
                self.run_worker(self.wrap_up.callback_done(choice.callback))

        self.app.push_screen(CallbacksDialog(due, now), chosen)

    # ------------------------------------------------------------------- notes
    @on(DataTable.RowHighlighted, "#queue")
    async def _queue_moved(self) -> None:
        """With no call talking, the notes box is the selected held call's."""
        await self.notes.follow()

    @on(TextArea.Changed, "#notes")
    def _notes_typed(self) -> None:
        """Notes are saved a second after typing stops, not only when the call
        ends: a terminal that drops mid-call must not take them with it."""
        self.notes.typed()

    # ------------------------------------------------------- which keys apply
    def selected_call(self) -> LiveCall | None:
        selected = self.query_one(CallQueueTable).selected_call_id()
        return self.queue.get(selected) if selected else None

    def _target_ringing(self) -> LiveCall | None:
        call = self.selected_call()
        if call is not None and call.ringing:
            return call
        ringing = self.queue.ringing()
        return ringing[0] if ringing else None

    def _current(self) -> LiveCall | None:
        """The call an in-call action applies to: the one talking, else the selected one."""
        active = self.queue.active()
        if active is not None:
            return active
        selected = self.selected_call()
        if selected is not None and selected.state == "active":
            return selected
        held = self.queue.held()
        return held[0] if held else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:  # noqa: ARG002 - Textual API
        """Keys apply only when they can act (a hidden key does nothing), so the footer lists
        exactly the keys that apply right now."""
        if action in _NEEDS_RINGING:
            return bool(self.queue.ringing())
        if action in _NEEDS_CALL:
            return self._current() is not None
        if action in _NEEDS_CONSULT:
            return self.queue.consult_pair() is not None
        if action == "verify":
            return self.patients.verifiable() is not None
        if action == "escalate":
            current = self.guidance.current()
            return current is not None and bool(current[1].red_flags)
        return True

    # ----------------------------------------------------------------- actions
    def action_answer(self) -> None:
        """Answer the selected (or longest waiting) ringing call; a talking call is held."""
        call = self._target_ringing()
        if call is None:
            self.notify("No call is ringing.", severity="warning", markup=False)
            return
        self._send("answer", call=call.id)

    def action_hangup(self) -> None:
        """End the call in progress (or the selected held call)."""
        call = self._current()
        if call is None:
            self.notify("There is no call in progress.", severity="warning", markup=False)
            return
        self._send("hangup", call=call.id)

    def action_decline(self) -> None:
        """Refuse the selected (or longest waiting) ringing call with 486 Busy Here."""
        call = self._target_ringing()
        if call is None:
            self.notify("No call is ringing.", severity="warning", markup=False)
            return
        self._send("reject", call=call.id, code=486)

    def action_hold(self) -> None:
        """Hold the talking call; with none talking, take the selected (or only) held call back."""
        active = self.queue.active()
        if active is not None and active.state == "active":
            self._send("hold", call=active.id)
            return
        selected = self.selected_call()
        held = selected if selected is not None and selected.local_hold else None
        held = held or (self.queue.held()[0] if self.queue.held() else None)
        if held is None:
            self.notify("There is no call to hold or resume.", severity="warning", markup=False)
            return
        self._send("resume", call=held.id)

    def action_mute(self) -> None:
        """Mute or unmute the agent's side of the call."""
        call = self._current()
        if call is None:
            self.notify("There is no call to mute.", severity="warning", markup=False)
            return
        self._send("unmute" if call.muted else "mute", call=call.id)

    def _pick(self, title: str, then: str) -> None:
        def chosen(target: PickedTarget | None) -> None:
            if target is None:
                return
            call = self._current()
            if then == "dial":
                self._send("dial", number=target.number)
            elif call is None:
                self.notify("The call ended meanwhile.", severity="warning", markup=False)
            else:
                self._send(then, call=call.id, target=target.number)

        self.app.push_screen(TargetPicker(title, list(self.careline.config.directory)), chosen)

    def action_transfer(self) -> None:
        """Blind transfer the call to a target from the directory (or typed)."""
        if self._current() is None:
            self.notify("There is no call to transfer.", severity="warning", markup=False)
            return
        self._pick("Transfer the caller to…", "transfer")

    def action_consult(self) -> None:
        """Hold the caller and call a target (attended transfer)."""
        if self._current() is None:
            self.notify("There is no call to consult about.", severity="warning", markup=False)
            return
        self._pick("Consult (caller waits on hold)…", "consult")

    def action_dial(self) -> None:
        """Call a number, an extension or a directory entry."""
        self._pick("Dial…", "dial")

    def _consult_command(self, cmd: str) -> None:
        pair = self.queue.consult_pair()
        if pair is None:
            self.notify("No consult call is up.", severity="warning", markup=False)
            return
        self._send(cmd, call=pair[0].id)

    def action_complete(self) -> None:
        """Connect the caller with the consulted target."""
        self._consult_command("complete")

    def action_cancel_consult(self) -> None:
        """Hang up the consult call and go back to the caller."""
        self._consult_command("cancel_consult")

    def action_swap(self) -> None:
        """Switch between caller and consult call."""
        self._consult_command("swap")

    def action_dtmf(self) -> None:
        """Open the keypad; each key sends a tone on the call."""
        if self._current() is None:
            self.notify("There is no call to send tones on.", severity="warning", markup=False)
            return
        self.app.push_screen(DtmfPad(self))

    @on(DtmfPad.Digit)
    def _dtmf_digit(self, message: DtmfPad.Digit) -> None:
        call = self._current()
        if call is not None:
            self.queue.note_dtmf(call.id, message.digit)
            self._send("dtmf", call=call.id, digits=message.digit)
            self._refresh_calls()

    def action_next_call(self) -> None:
        """Select the next call in the queue."""
        self.query_one(CallQueueTable).select_next()

    def action_agent_state(self) -> None:
        """Pick Ready, Not ready (with a reason) or Offline."""

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice is not None:
                state, reason = choice
                self._send("availability", state=state, reason=reason)

        current = self.agent.availability + (f" ({self.agent.reason})" if self.agent.reason else "")
        self.app.push_screen(
            AvailabilityPicker(list(self.careline.config.ui.not_ready_reasons), current), chosen
        )

    # -------------------------------------------------------------------- audio
    @on(SignedIn)
    def _signed_in(self, _message: SignedIn) -> None:
        self.signed_in = True
        if not self._apply_audio_choice():
            self._connect_station(after_sign_in=True)
        self.wrap_up.open_waiting()

    def _connect_station(self, *, after_sign_in: bool = False) -> None:
        """Station mode: once signed in with the phone online, the engine calls the
        agent's phone (a no-op at the engine when the leg is already up)."""
        # The audio mode is known only once the engine has said hello.
        agent = self.agent
        # Signing in also calls a phone that dropped (e.g. before an attach).
        wanted = ("off", "down") if after_sign_in else ("off",)
        if self.signed_in and agent.audio_mode == "station" and agent.station_state in wanted:
            self._send("station", action="connect")

    def _apply_audio_choice(self) -> bool:
        """An engine attached to (or restarted) in another mode than the agent chose:
        switch it; True when a switch was sent."""
        choice = self.careline.audio_choice
        if self.signed_in and choice and self.agent.audio_mode not in ("", choice):
            self._send("audio", mode=choice)
            return True
        return False

    def _audio_changed(self, before: AgentState) -> None:
        """Tell the agent when their phone drops or the headset fails."""
        now = self.agent
        if now.station_state == "down" and before.station_state != "down":
            self.notify(
                f"{now.station_detail or 'Your phone is not connected'}. Press u to call it again.",
                title="Your phone",
                severity="error",
                markup=False,
                timeout=10,
            )
        elif now.station_state == "up" and before.station_state != "up":
            self.notify("Your phone is connected: calls come to it.", markup=False)
        if now.audio_mode == "headset" and not now.audio_ok and before.audio_ok:
            self.notify(
                f"Headset: {now.audio_detail}", title="Audio", severity="error", markup=False
            )

    def action_audio(self) -> None:
        """Pick how to hear callers: headset, your own phone, or none."""
        agent = self.agent
        number = self.careline.config.audio.station.number.strip()
        choices: list[tuple[str, str]] = []
        if agent.audio_mode == "station" and agent.station_state != "up":
            choices.append(("reconnect", f"Call my phone again ({number})"))
        choices.append(("headset", "Headset on this computer"))
        choices.append(
            (
                "station",
                f"My phone: {number}" if number else "My phone (audio.station.number unset)",
            )
        )
        choices.append(("none", "No audio (monitoring)"))
        label, _ = agent.audio_label()
        detail = agent.station_detail or agent.audio_detail

        def chosen(choice: str | None) -> None:
            if choice == "reconnect":
                self._send("station", action="connect")
            elif choice is not None:
                self.careline.audio_choice = choice
                self._send("audio", mode=choice)

        title = f"Audio (now: {label or agent.audio_mode})" + (f" — {detail}" if detail else "")
        self.app.push_screen(ChoicePicker(title, choices), chosen)

    def action_why(self) -> None:
        """Explain in one sentence why calls are (not) arriving."""
        self.notify(
            self.agent.explain(self.careline.now()),
            title="Why am I (not) getting calls?",
            markup=False,
            timeout=10,
        )

    def action_notes(self) -> None:
        """Move the cursor into the notes box."""
        self.query_one("#notes", TextArea).focus()

    def action_leave_notes(self) -> None:
        """Back to the call queue."""
        self.query_one(CallQueueTable).focus()

    def key_rows(self) -> list[KeyHelp]:
        """Every binding of this screen and the app, with the keys in force (keymap applied)."""
        rows = []
        bindings = list(self.BINDINGS) + list(self.app.BINDINGS)
        keymap = self.careline.config.keymap
        for binding in bindings:
            if not isinstance(binding, Binding) or binding.id is None:
                continue
            keys = keymap.get(binding.id, binding.key_display or binding.key)
            rows.append(KeyHelp(keys, binding.description, binding.id, binding.tooltip))
        return rows

    def palette_entries(self) -> list[tuple[str, str, str]]:
        """(label, action, help) for the command palette: every screen action."""
        return [
            (b.description, b.action, b.tooltip)
            for b in self.BINDINGS
            if isinstance(b, Binding) and b.id not in ("notes.leave",)
        ]

    def action_help(self) -> None:
        """Show every key."""
        self.app.push_screen(HelpScreen(self.key_rows()))

    def send_command(self, cmd: str, **args: Any) -> None:
        """Send an engine command in the background; a failure is shown, not raised."""
        self._send(cmd, **args)

    @work(group="phone-commands")
    async def _send(self, cmd: str, **args: Any) -> None:
        try:
            await self.careline.phone.command(cmd, **args)
        except PhoneError as exc:
            what = _COMMAND_WORDS.get(cmd, cmd.replace("_", " "))
            self.notify(f"Could not {what}: {exc}", severity="error", markup=False)
