# SPDX-License-Identifier: GPL-2.0-or-later
"""How the agent hears callers: the headset, their own phone (station), or none.

The agent's choice (``--audio``, then ``u``) is applied to an engine that
reports another mode (one attached to, or restarted); in station mode the
engine calls the agent's phone once they are signed in.
"""

from __future__ import annotations

from console.controllers.base import Context, Controller


class AudioControl(Controller):
    """The audio mode and the station leg, from sign-in on."""

    def __init__(self, context: Context, choice: str | None) -> None:
        super().__init__(context)
        self.choice = choice
        """The audio mode the agent asked for (None: whatever the engine has)."""
        self.signed_in = False
        """Set once the agent has signed in (station mode then calls their phone)."""

    def engine_hello(self) -> None:
        """The engine (re)connected: switch its mode, or call the agent's phone."""
        if not self._apply_choice():  # a switch to station calls the phone itself
            self._connect_station()

    def sign_in(self) -> None:
        """The agent signed in: now their phone may ring."""
        self.signed_in = True
        if not self._apply_choice():
            self._connect_station(after_sign_in=True)

    def _connect_station(self, *, after_sign_in: bool = False) -> None:
        """Station mode: once signed in with the phone online, the engine calls the
        agent's phone (a no-op at the engine when the leg is already up)."""
        # The audio mode is known only once the engine has said hello.
        agent = self.desk.agent
        # Signing in also calls a phone that dropped (e.g. before an attach).
        wanted = ("off", "down") if after_sign_in else ("off",)
        if self.signed_in and agent.audio.mode == "station" and agent.audio.station_state in wanted:
            self.host.send_command("station", action="connect")

    def _apply_choice(self) -> bool:
        """An engine in another mode than the agent chose: switch it; True when sent."""
        choice = self.choice
        if self.signed_in and choice and self.desk.agent.audio.mode not in ("", choice):
            self.host.send_command("audio", mode=choice)
            return True
        return False

    def pick(self) -> None:
        """Offer headset, the agent's own phone (or calling it again), or none."""
        agent = self.desk.agent
        audio = agent.audio
        number = self.services.config.audio.station.number.strip()
        choices: list[tuple[str, str]] = []
        if audio.mode == "station" and audio.station_state != "up":
            choices.append(("reconnect", f"Call my phone again ({number})"))
        choices.append(("headset", "Headset on this computer"))
        mine = f"My phone: {number}" if number else "My phone (audio.station.number unset)"
        choices.append(("station", mine))
        choices.append(("none", "No audio (monitoring)"))
        label, _ = agent.audio_label()
        detail = audio.station_detail or audio.detail

        def chosen(choice: str | None) -> None:
            if choice == "reconnect":
                self.host.send_command("station", action="connect")
            elif choice is not None:
                self.choice = choice
                self.host.send_command("audio", mode=choice)

        from console.dialogs.choice import ChoicePicker

        title = f"Audio (now: {label or audio.mode})" + (f" — {detail}" if detail else "")
        self.screen.app.push_screen(ChoicePicker(title, choices), chosen)
