# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent's call keys: answer, hang up, hold, transfer, consult, dial, keypad,
availability and callbacks, each turned into one engine command.

Which call a key acts on: the ringing call selected (else the longest waiting)
for answer and decline; the call being talked on (else the selected or first
held one) for the in-call keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.controllers.base import Context, Controller
from console.controllers.wrap_up import WrapUpFlow
from console.core.calls import LiveCall
from console.core.wrap_up import CallbackChoice

if TYPE_CHECKING:
    from console.dialogs.target_picker import PickedTarget


class CallActions(Controller):
    """What each call key does."""

    def __init__(self, context: Context, wrap_up: WrapUpFlow) -> None:
        super().__init__(context)
        self.wrap_up = wrap_up
        """Callbacks are dialled and closed through the wrap-up."""

    # ------------------------------------------------------------ which call
    def target_ringing(self) -> LiveCall | None:
        """The ringing call answer/decline act on."""
        call = self.selected_call()
        if call is not None and call.ringing:
            return call
        ringing = self.queue.ringing()
        return ringing[0] if ringing else None

    def current(self) -> LiveCall | None:
        """The call an in-call action applies to: the one talking, else the selected one."""
        active = self.queue.active()
        if active is not None:
            return active
        selected = self.selected_call()
        if selected is not None and selected.state == "active":
            return selected
        held = self.queue.held()
        return held[0] if held else None

    def _warn(self, text: str) -> None:
        self.screen.notify(text, severity="warning", markup=False)

    def _on_current(self, cmd: str, missing: str) -> None:
        call = self.current()
        if call is None:
            self._warn(missing)
        else:
            self.host.send_command(cmd, call=call.id)

    # --------------------------------------------------------------- keys
    def _on_ringing(self, cmd: str, **args: object) -> None:
        call = self.target_ringing()
        if call is None:
            self._warn("No call is ringing.")
        else:
            self.host.send_command(cmd, call=call.id, **args)

    def answer(self) -> None:
        """Answer the selected (or longest waiting) ringing call; a talking call is held."""
        self._on_ringing("answer")

    def decline(self) -> None:
        """Refuse the selected (or longest waiting) ringing call with 486 Busy Here."""
        self._on_ringing("reject", code=486)

    def hangup(self) -> None:
        """End the call in progress (or the selected held call)."""
        self._on_current("hangup", "There is no call in progress.")

    def hold(self) -> None:
        """Hold the talking call; with none talking, take the selected (or only) held call back."""
        active = self.queue.active()
        if active is not None and active.state == "active":
            self.host.send_command("hold", call=active.id)
            return
        selected = self.selected_call()
        held = selected if selected is not None and selected.local_hold else None
        held = held or (self.queue.held()[0] if self.queue.held() else None)
        if held is None:
            self._warn("There is no call to hold or resume.")
        else:
            self.host.send_command("resume", call=held.id)

    def mute(self) -> None:
        """Mute or unmute the agent's side of the call."""
        call = self.current()
        if call is None:
            self._warn("There is no call to mute.")
        else:
            self.host.send_command("unmute" if call.muted else "mute", call=call.id)

    def pick_target(self, then: str) -> None:
        """Transfer, consult or dial: pick a directory entry (or type a number)."""
        titles = {
            "transfer": ("Transfer the caller to…", "There is no call to transfer."),
            "consult": ("Consult (caller waits on hold)…", "There is no call to consult about."),
            "dial": ("Dial…", ""),
        }
        title, missing = titles[then]
        if missing and self.current() is None:
            self._warn(missing)
            return

        def chosen(target: PickedTarget | None) -> None:
            if target is None:
                return
            call = self.current()
            if then == "dial":
                self.host.send_command("dial", number=target.number)
            elif call is None:
                self._warn("The call ended meanwhile.")
            else:
                self.host.send_command(then, call=call.id, target=target.number)

        from console.dialogs.target_picker import TargetPicker

        directory = list(self.services.config.directory)
        self.screen.app.push_screen(TargetPicker(title, directory), chosen)

    def consult_command(self, cmd: str) -> None:
        """Complete, cancel or swap the consult call."""
        pair = self.queue.consult_pair()
        if pair is None:
            self._warn("No consult call is up.")
        else:
            self.host.send_command(cmd, call=pair[0].id)

    def keypad(self) -> None:
        """Open the keypad; each key sends a tone on the call."""
        if self.current() is None:
            self._warn("There is no call to send tones on.")
        else:
            from console.dialogs.dtmf_pad import DtmfPad

            self.screen.app.push_screen(DtmfPad(self.screen))

    def tone(self, digit: str) -> bool:
        """Send one keypad digit on the current call; True when sent."""
        call = self.current()
        if call is None:
            return False
        self.queue.note_dtmf(call.id, digit)
        self.host.send_command("dtmf", call=call.id, digits=digit)
        return True

    def availability(self) -> None:
        """Pick Ready, Not ready (with a reason) or Offline."""
        agent = self.desk.agent

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice is not None:
                state, reason = choice
                self.host.send_command("availability", state=state, reason=reason)

        from console.dialogs.availability import AvailabilityPicker

        current = agent.availability + (f" ({agent.reason})" if agent.reason else "")
        reasons = list(self.services.config.ui.not_ready_reasons)
        self.screen.app.push_screen(AvailabilityPicker(reasons, current), chosen)

    async def callbacks(self) -> None:
        """The callbacks list: dial one, or mark it done."""
        now = self.services.clock()
        due = await self.services.interactions.callbacks(now)

        def chosen(choice: CallbackChoice | None) -> None:
            if choice is None:
                return
            if choice.action == "dial":
                self.wrap_up.dial_callback(choice.callback)
            else:
                self.screen.run_worker(self.wrap_up.callback_done(choice.callback))

        from console.dialogs.callbacks import CallbacksDialog

        self.screen.app.push_screen(CallbacksDialog(due, now), chosen)
