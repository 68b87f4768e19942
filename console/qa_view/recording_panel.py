# SPDX-License-Identifier: GPL-2.0-or-later
"""The evaluated call's recording, played beside the form: where it is, at what speed, and
the moments of its timeline to jump to.

The evaluation screen's keys drive it (``p`` plays and stops, ``f`` 1x/1.5x, ``j``
a moment). Opening, auditing and playing are
:mod:`console.core.recordings.player`'s, as for ``careline recordings play``:
one ``record_play`` row each time the recording is opened (its timeline shown)
or played again, ``fail`` when it cannot be opened; a key that opens and plays
writes one row, not two. The audio plays in a thread of its own; its end comes
back as a message. Leaving the screen (or quitting) stops it.
"""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from console.core.config import ConfigError
from console.core.recordings.playback import SPEEDS
from console.core.recordings.player import OpenRecording, Playback, PlaybackError, open_audited
from console.core.records import dataclass
from console.core.text import safe_text
from console.qa_view.session import RecordingAccess

TICK_SECONDS = 0.5
"""How often the position shown moves on while playing."""
UNMOUNT_WAIT_SECONDS = 1.0
"""How long leaving the screen waits for the audio thread to close the device."""


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes:02d}:{rest:02d}"


class RecordingPanel(Static):
    """The player: stopped or playing, the position and speed, and the timeline's moments."""

    @dataclass
    class Ended(Message):
        """The playback thread stopped: at the end, when asked, or on a failing device."""

        playback: Playback
        problem: str | None
        """What went wrong (no sound device…), None when nothing did."""

    def __init__(self, call_id: str, access: RecordingAccess | None) -> None:
        super().__init__(id="player", markup=False)
        self.call_id = call_id
        self.access = access
        self.opened: OpenRecording | None = None
        """The decrypted recording, once opened."""
        self.playback: Playback | None = None
        """The playback running (or last run)."""
        self.speed = SPEEDS[0]
        """The speed of the next playback (1x or 1.5x)."""
        self.resume_at = 0.0
        """Where ``p`` plays from next (seconds)."""
        self.problem = ""
        """The last reason it could not play, shown until it plays."""

    def on_mount(self) -> None:
        """Show the stopped player; move the position on while playing."""
        self.set_interval(TICK_SECONDS, self._tick)
        self._show()

    def on_unmount(self) -> None:
        """Leaving the screen or quitting: the audio stops (and the device is closed)."""
        self.stop()
        if self.playback is not None:
            self.playback.wait(UNMOUNT_WAIT_SECONDS)

    @property
    def playing(self) -> bool:
        """Whether audio is playing now."""
        return self.playback is not None and self.playback.playing

    # ------------------------------------------------------------------ keys
    async def toggle(self) -> None:
        """Play from where it stopped (the start after the end), or stop."""
        if self.playing:
            self.stop()
            self._show()
            return
        await self.play_from(self.resume_at)

    async def toggle_speed(self) -> None:
        """1x ↔ 1.5x; a playback goes on from where it is at the new speed."""
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)]
        if self.playing and self.opened is not None:
            self.stop()
            self._start(self.opened, self.resume_at)  # the same listening: no new row
        self._show()

    async def open(self) -> tuple[OpenRecording | None, bool]:
        """The recording (None when it cannot be opened: said), and whether this call opened
        it (its timeline shown: an audit row written)."""
        return await self._open()

    async def play_from(self, seconds: float, *, audited: bool = False) -> None:
        """Play from ``seconds``: one audit row per playback (``audited``: the key that
        asked for it has written its row already, by opening the recording)."""
        opened, fresh = await self._open()
        if opened is None:
            return
        if not (fresh or audited) and self.access is not None:
            from console.core.recordings.player import audit_play

            await audit_play(self.access.audit, self.access.listener, "ok")
        self.stop()
        self._start(opened, 0.0 if seconds >= opened.seconds else seconds)
        self._show()

    def stop(self) -> None:
        """Stop the audio (within a block, without waiting here); remember where it was."""
        if self.playback is not None and self.playback.playing:
            self.playback.stop()
            self.resume_at = self.playback.position

    # -------------------------------------------------------------- workings
    async def _open(self) -> tuple[OpenRecording | None, bool]:
        """The recording and whether this call opened it (and wrote its audit row)."""
        if self.opened is not None:
            return self.opened, False
        if self.access is None:
            self._refuse("recordings cannot be played here")
            return None, False
        access = self.access
        try:
            opener = access.opener(self.call_id)
            self.opened = await open_audited(access.audit, access.listener, self.call_id, opener)
        except (ConfigError, PlaybackError) as exc:
            self._refuse(str(exc))
            return None, False
        return self.opened, True

    def _start(self, opened: OpenRecording, seconds: float) -> None:
        assert self.access is not None
        self.problem = ""
        self.resume_at = seconds

        def ended(problem: str | None) -> None:
            self.post_message(self.Ended(playback, problem))  # thread-safe

        # The one before is told to stop; the new thread waits for it to close the device.
        before = self.playback
        playback = Playback(opened, seconds, self.speed, self.access.device, ended, after=before)
        self.playback = playback
        playback.begin()

    def on_recording_panel_ended(self, message: Ended) -> None:
        """The thread stopped: at the end the next ``p`` starts again; a problem is said."""
        if message.playback is not self.playback:
            return  # an earlier playback, replaced since
        self.resume_at = 0.0 if message.playback.finished else message.playback.position
        if message.problem:
            self._refuse(message.problem)
        self._show()

    def _refuse(self, reason: str) -> None:
        self.problem = reason
        self.notify(f"Cannot play the recording: {reason}", severity="warning", markup=False)
        self._show()

    def _tick(self) -> None:
        if self.playing:
            self._show()

    def _show(self) -> None:
        speed = f"{self.speed:g}x"
        if self.playing and self.playback is not None:
            where = self.playback.position
            state = f"▶ playing {_clock(where)}"
        else:
            state = f"■ stopped at {_clock(self.resume_at)}" if self.opened else "■ not opened"
        total = f" / {_clock(self.opened.seconds)}" if self.opened else ""
        lines = [f"Player: {state}{total} · speed {speed} · p play/stop · f speed · j jump"]
        if self.problem:
            lines.append(f"  cannot play: {safe_text(self.problem, 200)}")
        if self.opened is not None:
            lines.append(f"  {self.opened.summary()}; moments (j, then the number):")
            moments = self.opened.moments
            lines += [f"  [{n}] {safe_text(m.label(), 60)}" for n, m in enumerate(moments)]
            if not self.opened.moments:
                lines.append("  (none: no pause, hold, transfer or red flag)")
        self.update(Text("\n".join(lines)))
