# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent's main screen: queue, active call, patient and guidance panes, notes, history.

The screen composes the panes, renders the desk's calls into them and routes
keys and messages to its controllers (``console/controllers/``); what an engine
event means is decided by the desk (``console/core/desk.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, TextArea

from console.controllers.audio import AudioControl
from console.controllers.base import Context
from console.controllers.booking import BookingFlow
from console.controllers.call_actions import CallActions
from console.controllers.effects import DeskEffects, Parts
from console.controllers.guidance import GuidanceFlow
from console.controllers.lost_calls import LostCallsFlow
from console.controllers.monitoring import MonitorFlow
from console.controllers.notes import NotesFlow
from console.controllers.patients import PatientFlow
from console.controllers.recording import RecordingFlow
from console.controllers.refills import RefillFlow
from console.controllers.wrap_up import WrapUpFlow
from console.core.agent_state import AgentState
from console.core.calls import CallQueue
from console.core.desk import Desk
from console.core.phone import PhoneError
from console.messages import (
    HubSyncChanged,
    PatientVerified,
    PhoneEvent,
    PhoneStatusChanged,
    SignedIn,
    StorageChanged,
    Unlocked,
)
from console.screens.agent_bindings import AGENT_BINDINGS, key_rows, palette_entries
from console.services import Services
from console.widgets.active_call import ActiveCallPanel
from console.widgets.call_queue import CallQueueTable
from console.widgets.footer import KeyFooter
from console.widgets.guidance import GuidancePane
from console.widgets.history import CallHistory
from console.widgets.key_help import KeyHelp
from console.widgets.monitor_badge import MonitorBadge
from console.widgets.patient_card import PatientCard
from console.widgets.recording_badge import RecordingBadge
from console.widgets.red_flag import RedFlagBanner
from console.widgets.status_bar import StatusBar
from console.widgets.typeahead import send_typed_ahead_to

if TYPE_CHECKING:  # the keypad loads when it first opens, the worklist when first worked
    from console.controllers.worklist import WorklistFlow
    from console.dialogs.dtmf_pad import DtmfPad

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

    def __init__(self, services: Services, *, audio_choice: str | None = None) -> None:
        super().__init__()
        self.services = services
        names = {entry.number: entry.name for entry in services.config.directory}
        self.desk = Desk(names, services.clock)
        """The live calls and the agent's state, and what each engine event means."""
        self._ticker: Timer | None = None
        self._usable: tuple[bool, ...] | None = None
        context = Context(self, self, services, self.desk)
        self.patients = PatientFlow(context)
        """Screen pop, verification and the card, per call."""
        self.guidance = GuidanceFlow(context, self.patients)
        """The call script, red flags and escalation, per call."""
        self.notes = NotesFlow(context)
        """The notes box, tied to one call at a time."""
        self.wrap_up = WrapUpFlow(context, self.guidance, self.notes)
        """After-call work: wrap-up forms, drafts, interactions."""
        self.booking = BookingFlow(context, self.patients, self.guidance)
        """Booking, moving and cancelling the verified caller's appointments."""
        self.refills = RefillFlow(context, self.patients)
        """Refill requests, care-team messages and pending tests for the verified caller."""
        self.lost_calls = LostCallsFlow(
            context, self.patients, self.guidance, self.wrap_up, self.booking, self.refills
        )
        """Calls lost with an engine or a console, and calls turned away: closed and recorded."""
        self.audio = AudioControl(context, audio_choice)
        """The audio mode and the agent's phone (station)."""
        self.calls = CallActions(context, self.wrap_up)
        """The call keys."""
        self.monitoring = MonitorFlow(context)
        """Supervisors joining the agent's calls: grants checked, who is on shown, audited."""
        self._flow_context = context  # (not _context: Textual's MessagePump has one)
        self._worklist: WorklistFlow | None = None
        self.recording = RecordingFlow(context)
        """The call's recording: its badge, pause (R), consent, forms that pause it."""
        parts = Parts(
            self.patients, self.guidance, self.wrap_up, self.notes, self.lost_calls, self.audio
        )
        self.effects = DeskEffects(context, parts, self._refresh_calls)

    @property
    def worklist(self) -> WorklistFlow:
        """Preview dialling of the outbound worklist (W). Built when first asked for: until
        the agent works the list it has nothing to do, and its code (the claims, the
        reminder changes, the outcome dialogs' logic) stays out of an idle console."""
        if self._worklist is None:
            from console.controllers.worklist import WorklistFlow

            self._worklist = WorklistFlow(
                self._flow_context, self.guidance, self.wrap_up, self.booking
            )
        return self._worklist

    async def release_worklist(self) -> None:
        """The console is quitting: a worklist item claimed goes back to the list."""
        if self._worklist is not None:
            await self._worklist.release_on_exit()

    @property
    def queue(self) -> CallQueue:
        """The live calls."""
        return self.desk.queue

    @property
    def agent(self) -> AgentState:
        """The agent's state as the engine reports it."""
        return self.desk.agent

    def compose(self) -> ComposeResult:
        """Status bar; queue and history beside call, patient and guidance; notes; footer."""
        ui = self.services.config.ui
        yield StatusBar(clock=self.services.clock, id="status")
        yield MonitorBadge(id="monitoring")
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
                    yield RecordingBadge(id="recording")
                with Vertical(id="case"):  # boxed below the call's clock, as #bottom is
                    with VerticalScroll(id="patient-pane", classes="pane"):
                        yield Label("Patient", classes="pane-title")
                        yield PatientCard(id="patient")
                    with Vertical(id="guidance-pane", classes="pane"):
                        yield Label("Guidance (g)", classes="pane-title")
                        yield GuidancePane(id="guidance")
        # In one box: a repaint above it (the clocks, once a second) does not render
        # the notes or the footer again, only the box (see careline.tcss).
        with Vertical(id="bottom"):
            with Vertical(id="notes-pane", classes="pane"):
                yield Label("Notes (n to type, Esc when done)", classes="pane-title")
                yield TextArea(id="notes", soft_wrap=True, show_line_numbers=False)
            yield KeyFooter()

    async def on_mount(self) -> None:
        """Fill the history and start with the queue focused."""
        self.query_one(StatusBar).agent_name = self.services.config.agent.name
        self.query_one(CallQueueTable).focus()
        self.notes.mount()
        self.recording.mount()
        self.call_after_refresh(self.guidance.load)  # after the first frame: see load()
        self._refresh_calls()
        await self.refresh_history()
        await self.wrap_up.restore()
        # A state record at least every minute: the wallboard's "last heard".
        self.set_interval(HEARTBEAT_S / 2, self._heartbeat)

    async def _heartbeat(self) -> None:
        # Behind: a store another program holds locked must not hold the screen up.
        await self.services.floor.agent_state(
            self.agent, self.queue.active(), heartbeat_s=HEARTBEAT_S, behind=True
        )

    def on_resize(self, event: events.Resize) -> None:
        """Small terminals (80×24) drop the history to keep the call panes usable."""
        self.set_class(event.size.height < COMPACT_HEIGHT, "-compact")

    # ------------------------------------------------------------ engine facts
    @on(PhoneStatusChanged)
    async def _phone_status(self, message: PhoneStatusChanged) -> None:
        status = message.status
        effects = self.desk.phone_status(status.online, status.detail)
        self.query_one(StatusBar).state = self.agent  # "offline" before the lost calls close
        self.recording.phone_status(status.online)
        await self.effects.run(effects)

    @on(PhoneEvent)
    async def _phone_event(self, message: PhoneEvent) -> None:
        await self.monitoring.phone_event(message.event)  # a request waits for no repaint
        if self._worklist is not None:  # before the desk lets an ended call go
            self._worklist.phone_event(message.event)
        effects = self.desk.apply(message.event)
        self.query_one(StatusBar).state = self.agent
        await self.effects.run(effects)
        await self.recording.phone_event(message.event)

    @on(HubSyncChanged)
    def _hub_sync(self, message: HubSyncChanged) -> None:
        self.query_one(StatusBar).sync = message.label

    @on(StorageChanged)
    def _storage(self, message: StorageChanged) -> None:
        self.query_one(StatusBar).storage = message.text

    @on(SignedIn)
    def _signed_in(self, _message: SignedIn) -> None:
        self.audio.sign_in()
        self.wrap_up.open_waiting()

    @on(Unlocked)
    def _unlocked(self, _message: Unlocked) -> None:
        self.wrap_up.open_waiting()

    @on(PatientVerified)
    def _patient_verified(self, message: PatientVerified) -> None:
        self.guidance.patient_changed(message.call_id)
        if self._worklist is not None:  # a reminder's own appointment
            self._worklist.patient_verified(message.call_id)
        self.booking.patient_verified(message.call_id)
        self.refills.patient_verified(message.call_id)

    # ------------------------------------------------------------------ display
    def _refresh_calls(self) -> None:
        now = self.services.clock()
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
                selected = self.calls.selected_call()
                active = selected if selected and selected.local_hold else self.queue.held()[0]
            panel.call = active
            panel.consult = None
            if pair is not None and active is not None:
                panel.consult = pair[1] if active.id == pair[0].id else pair[0]
            panel.now = now
            self.query_one(StatusBar).calls = len(calls)
            # On the pane, not the screen: a screen class restyles every widget.
            self.query_one("#queue-pane").set_class(any(c.ringing for c in calls), "-ringing")
        self.patients.refresh()
        self.booking.refresh()
        self.refills.refresh()
        self.guidance.refresh()
        if self._worklist is not None:
            self._worklist.refresh()
        self.recording.refresh()
        # Rebuilding the footer is not free: only when the set of usable keys changes.
        usable = (
            bool(self.queue.ringing()),
            self.calls.current() is not None,
            self.queue.consult_pair() is not None,
            self.patients.verifiable() is not None,
            self.booking.usable(),
            self.refills.usable(),
            self.recording.recorded() is not None,
        )
        if usable != self._usable:
            self._usable = usable
            self.refresh_bindings()
        # Tick only while there is something to count: an idle console does not redraw;
        # a tick redraws only what reads differently a second later.
        if calls and self._ticker is None:
            self._ticker = self.set_interval(1, self._tick)
        elif not calls and self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def _tick(self) -> None:
        """A second passed: only the clocks move (the queue's time cells, the call's)."""
        now = self.services.clock()
        self.query_one(CallQueueTable).tick(self.queue.calls(), now)
        self.query_one(ActiveCallPanel).tick(now)

    async def refresh_history(self) -> None:
        """Show the latest finished calls from the store."""
        rows = await self.services.store.recent_calls(self.services.config.ui.history_size)
        for history in self.query(CallHistory):  # none once the console is closing
            history.show(rows)

    # ---------------------------------------------------------------- guidance
    @on(GuidancePane.RedFlags)
    async def _red_flags(self, message: GuidancePane.RedFlags) -> None:
        await self.guidance.raised(message.flags)
        self.refresh_bindings()

    @on(GuidancePane.Changed)
    def _script_moved(self) -> None:
        self.guidance.refresh()

    @on(GuidancePane.SwitchRequested)
    def _switch_script(self) -> None:
        self.guidance.pick_script()

    def action_escalate(self) -> None:
        self.guidance.escalate()

    # ------------------------------------------------------------------- notes
    @on(DataTable.RowHighlighted, "#queue")
    async def _queue_moved(self) -> None:
        """With no call talking, the call panel, the patient and the notes box are the
        selected held call's."""
        self._refresh_calls()
        await self.notes.follow()

    @on(TextArea.Changed, "#notes")
    def _notes_typed(self) -> None:
        """Notes are saved a second after typing stops, not only when the call
        ends: a terminal that drops mid-call must not take them with it."""
        self.notes.typed()

    # ------------------------------------------------------- which keys apply
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:  # noqa: ARG002 - Textual API
        """Keys apply only when they can act (a hidden key does nothing), so the footer lists
        exactly the keys that apply right now."""
        if action in _NEEDS_RINGING:
            return bool(self.queue.ringing())
        if action in _NEEDS_CALL:
            return self.calls.current() is not None
        if action in _NEEDS_CONSULT:
            return self.queue.consult_pair() is not None
        if action == "verify":
            return self.patients.verifiable() is not None
        if action == "book":
            return self.booking.usable()
        if action == "refill":
            return self.refills.usable()
        if action == "recording":
            return self.recording.recorded() is not None
        if action == "escalate":
            current = self.guidance.current()
            return current is not None and bool(current[1].red_flags)
        if action == "notes":  # in a text box, n is a letter
            return not isinstance(self.focused, Input | TextArea)
        return True

    # ----------------------------------------------------------------- actions
    # Each key's work lives in a controller; these are the names the bindings call.
    def action_answer(self) -> None:
        self.calls.answer()

    def action_hangup(self) -> None:
        self.calls.hangup()

    def action_decline(self) -> None:
        self.calls.decline()

    def action_hold(self) -> None:
        self.calls.hold()

    def action_mute(self) -> None:
        self.calls.mute()

    def action_transfer(self) -> None:
        self.calls.pick_target("transfer")

    def action_consult(self) -> None:
        self.calls.pick_target("consult")

    def action_dial(self) -> None:
        self.calls.pick_target("dial")

    def action_complete(self) -> None:
        self.calls.consult_command("complete")

    def action_cancel_consult(self) -> None:
        self.calls.consult_command("cancel_consult")

    def action_swap(self) -> None:
        self.calls.consult_command("swap")

    def action_dtmf(self) -> None:
        self.calls.keypad()

    def on_dtmf_pad_digit(self, message: DtmfPad.Digit) -> None:
        """A key pressed on the keypad goes to the call as a tone."""
        if self.calls.tone(message.digit):
            self._refresh_calls()

    def action_next_call(self) -> None:
        self.query_one(CallQueueTable).select_next()

    def action_agent_state(self) -> None:
        self.calls.availability()

    async def action_callbacks(self) -> None:
        await self.calls.callbacks()

    def action_verify(self) -> None:
        self.patients.verify()

    def action_book(self) -> None:
        self.booking.open()

    def action_refill(self) -> None:
        self.refills.open()

    def action_guidance(self) -> None:
        self.query_one(GuidancePane).focus()

    def action_audio(self) -> None:
        self.audio.pick()

    def action_worklist(self) -> None:
        self.worklist.toggle()

    def action_recording(self) -> None:
        self.recording.toggle()

    def on_screen_suspend(self) -> None:
        """A dialog opened over the agent's screen: a form may pause the call's recording."""
        self.recording.screen_changed(self.app.screen)

    def on_screen_resume(self) -> None:
        """The agent's screen is back on top: a recording a form paused resumes."""
        self.recording.screen_changed(self)

    def action_why(self) -> None:
        """Explain in one sentence why calls are (not) arriving."""
        self.notify(
            self.agent.explain(self.services.clock()),
            title="Why am I (not) getting calls?",
            markup=False,
            timeout=10,
        )

    def action_notes(self) -> None:
        # At once, not on the next frame (Widget.focus): keys typed after n go to the box,
        # and those typed with it, still on their way through the call keys, follow them.
        notes = self.query_one("#notes", TextArea)
        self.set_focus(notes)
        send_typed_ahead_to(notes)

    def action_leave_notes(self) -> None:
        self.query_one(CallQueueTable).focus()

    def key_rows(self) -> list[KeyHelp]:
        """Every binding of this screen and the app, with the keys in force (keymap applied)."""
        return key_rows([*self.BINDINGS, *self.app.BINDINGS], self.services.config.keymap)

    def palette_entries(self) -> list[tuple[str, str, str]]:
        """(label, action, help) for the command palette: every screen action."""
        return palette_entries(self.BINDINGS)

    def action_help(self) -> None:
        from console.dialogs.help import HelpScreen  # loads when help first opens

        self.app.push_screen(HelpScreen(self.key_rows()))

    def send_command(self, cmd: str, **args: Any) -> None:
        """Send an engine command in the background; a failure is shown, not raised."""
        self._send(cmd, **args)

    @work(group="phone-commands")
    async def _send(self, cmd: str, **args: Any) -> None:
        try:
            await self.services.phone.command(cmd, **args)
        except PhoneError as exc:
            what = _COMMAND_WORDS.get(cmd, cmd.replace("_", " "))
            self.notify(f"Could not {what}: {exc}", severity="error", markup=False)
