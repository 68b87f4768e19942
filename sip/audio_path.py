# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent's audio path as the engine's clients see it: its mode, its health, the station leg.

:class:`AudioPath` answers the ``audio`` and ``station`` commands and tells
every client when the path changes. The audio itself is
:class:`sip.agent_audio.AgentAudio` (a headset bridge or the station leg's);
the leg to the agent's own phone is :class:`sip.station.StationLeg`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pjsua2 as pj

from sip.agent_audio import AudioModeError
from sip.protocol import CommandError, ErrorCode, Event
from sip.station import StationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sip.callbook import EngineHost


class AudioPath:
    """Reports and switches the agent's audio path; connects and hangs up the station leg."""

    def __init__(self, host: EngineHost, check_capacity: Callable[[], None]) -> None:
        self._host = host
        self._check_capacity = check_capacity

    def fact(self) -> dict[str, Any]:
        """The agent's audio path (mode, health, station leg) as a protocol object."""
        host = self._host
        fact = host.audio.fact() if host.audio is not None else {"mode": "none", "ok": False}
        fact["station"] = host.station.fact()
        fact["queue_capacity"] = host.queue_capacity
        return fact

    def changed(self) -> None:
        """Tell every client the audio path changed."""
        self._host.emit(Event.AUDIO, **self.fact())

    def station_audio(self, audio: pj.AudioMedia | None) -> None:
        """The station leg's audio came up (or went): the agent hears and speaks through it."""
        if self._host.audio is not None:
            self._host.audio.station_audio(audio)

    def cmd_audio(self, message: dict[str, Any]) -> dict[str, Any]:
        """Report the audio path, or switch mode (``mode``); station mode calls the phone."""
        mode = message.get("mode")
        if mode is None:
            return self.fact()
        audio = self._host.audio
        if audio is None:
            raise CommandError(ErrorCode.INVALID_STATE, "the phone is not ready")
        station = self._host.station
        previous = audio.mode
        if mode == "station" and not station.live:
            self._station_callable()  # before anything changes: the mode stays as it was
        try:
            audio.switch(str(mode))
        except AudioModeError as exc:
            raise CommandError(ErrorCode.INVALID_STATE, str(exc)) from None
        if mode == "station":
            try:
                self._station_connect()
            except CommandError:
                with contextlib.suppress(AudioModeError):
                    audio.switch(previous)
                raise
        else:
            station.disconnect()
        return self.fact()

    def cmd_station(self, message: dict[str, Any]) -> dict[str, Any]:
        """Call the agent's phone (``connect``, idempotent) or hang it up (``disconnect``)."""
        action = message.get("action", "connect")
        if action not in ("connect", "disconnect"):
            raise CommandError(ErrorCode.BAD_REQUEST, "action must be connect or disconnect")
        audio = self._host.audio
        if action == "disconnect":
            self._host.station.disconnect()
        elif audio is None or audio.mode != "station":
            raise CommandError(ErrorCode.INVALID_STATE, "audio mode is not station")
        else:
            self._station_connect()
        return self.fact()

    def _station_callable(self) -> None:
        """Raise unless the station phone can be called now (number, account, a free slot)."""
        try:
            self._host.station.target_uri()
        except StationError as exc:
            raise CommandError(ErrorCode.SIP_ERROR, str(exc)) from None
        self._check_capacity()

    def _station_connect(self) -> None:
        station = self._host.station
        if not station.live:
            self._station_callable()
        try:
            station.connect()
        except StationError as exc:
            raise CommandError(ErrorCode.SIP_ERROR, str(exc)) from None
