# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent's side of the conference bridge: which calls the agent hears and is heard on.

Three modes, switchable while the engine runs:

* ``headset`` -- a :class:`sip.headset.Headset` port (PortAudio) is the agent's
  ear and mouth;
* ``station`` -- the audio of a call the engine keeps up to the agent's own
  phone (:class:`sip.station.StationLeg`) is the ear and mouth;
* ``none`` -- nobody listens; the configured source (silence, a tone or a WAV)
  is sent into calls, as for tests and monitoring.

Whenever the mode's ear and mouth are missing (no headset device, the station
phone not answering yet) calls get the source too, so a caller hears the
configured silence or tone rather than a broken line.

A call is *attached* while it is answered and not on hold at our side: its
audio and the agent's port are connected both ways. A call put on hold is
detached first, so a held patient never hears the agent. The connections live
in pjsua's conference bridge (native); no Python runs per audio frame except
in the headset port.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import pjsua2 as pj

from sip.codecs import WIDEBAND_RATE
from sip.engine_log import logger
from sip.headset.errors import HeadsetError
from sip.media import MediaSource
from sip.settings import AudioSettings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sip.headset import Headset

log = logger(__name__)

MODES = ("headset", "station", "none")
"""Every audio mode, in the order the console offers them."""


class AudioModeError(RuntimeError):
    """A mode cannot be used now (message fit for the agent)."""


class AgentAudio:
    """Connects answered calls to the agent's ear and mouth for the current mode."""

    def __init__(
        self,
        settings: AudioSettings,
        source: MediaSource,
        on_change: Callable[[], None],
        *,
        clock_rate: int = WIDEBAND_RATE,
    ) -> None:
        """``clock_rate``: the conference bridge's (a headset port is made at it)."""
        self.settings = settings
        self.clock_rate = clock_rate
        self.mode = settings.mode
        self.detail = ""
        self.ok = True
        self._source = source
        self._on_change = on_change
        self._headset: Headset | None = None
        self._station: pj.AudioMedia | None = None
        self._calls: dict[str, pj.AudioMedia] = {}
        self._watchers: list[Callable[[int | None], None]] = []
        self.admit: Callable[[str, pj.AudioMedia], bool] | None = None
        """Asked before a call joins the agent: False keeps it off for now (a recording
        announcement plays to the patient first; sip.recording attaches it after)."""

    def watch(self, watcher: Callable[[int | None], None]) -> None:
        """Call ``watcher`` after every change of the calls the agent hears or of their ear
        and mouth (e.g. a supervisor's monitor follows them). It gets the bridge port id of
        a port that is gone (destroyed with its connections: touch nothing of it), or None.
        """
        self._watchers.append(watcher)

    def _changed(self, gone: pj.AudioMedia | None = None) -> None:
        port_id = None
        if gone is not None:
            with contextlib.suppress(pj.Error):
                port_id = gone.getPortId()
        for watcher in self._watchers:
            watcher(port_id)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Open what the configured mode needs; a headset that fails is reported, not fatal."""
        if self.mode == "headset":
            try:
                self._open_headset()
            except AudioModeError as exc:
                self.ok, self.detail = False, str(exc)
                log.warning("headset unavailable: %s", exc)

    def close(self) -> None:
        """Drop every connection, the headset and the source (before libDestroy)."""
        self._calls.clear()
        self._watchers.clear()
        self._station = None
        self._source.close()
        if self._headset is not None:
            self._headset.close()
            self._headset = None

    def check(self) -> None:
        """Once a second (engine loop): a headset that stopped is reported and its
        calls get the source, instead of silence the agent cannot explain."""
        if self.mode != "headset" or self._headset is None or self._headset.healthy():
            return
        self._each_call(self._disconnect)
        gone = self._headset.port
        self._headset.close()
        self._headset = None
        self._changed(gone)
        self.ok = False
        self.detail = "the headset stopped (unplugged?): plug it in and press u, or use your phone"
        log.warning("headset stopped")
        self._each_call(self._connect)
        self._on_change()

    def _open_headset(self) -> None:
        if "sounddevice" not in sys.modules:
            # PortAudio is loaded only by an engine that uses it, and only
            # once a child has loaded it safely and found the devices.
            from sip.audio_probe import check_devices

            wanted = self.settings.headset
            try:
                check_devices(wanted.output_device or "", wanted.input_device or "")
            except HeadsetError as exc:
                raise AudioModeError(str(exc)) from None
        from sip.headset import Headset

        headset = Headset(self.settings.headset, clock_rate=self.clock_rate)
        try:
            headset.open()
        except Exception as exc:  # a headset problem must never stop the phone
            headset.close()
            reason = str(exc) if isinstance(exc, HeadsetError) else f"headset failed: {exc!r}"
            raise AudioModeError(reason) from None
        self._headset = headset

    # ----------------------------------------------------------------- facts
    def fact(self) -> dict[str, Any]:
        """The audio path as a protocol object (``audio`` event, status)."""
        fact: dict[str, Any] = {"mode": self.mode, "ok": self.ok, "detail": self.detail}
        if self._headset is not None:
            fact["headset"] = self._headset.describe()
        return fact

    # ----------------------------------------------------------------- calls
    def attach(self, rid: str, call_audio: pj.AudioMedia) -> None:
        """The call is answered and not held here: the agent hears it and is heard."""
        # Always (re)connect: pjsua may rebuild the call's stream port on a
        # re-INVITE, dropping its connections; connecting twice is a no-op.
        previous = self._calls.get(rid)
        if previous is not None and previous.getPortId() != call_audio.getPortId():
            self._disconnect(previous)
        if self.admit is not None and not self.admit(rid, call_audio):
            self._calls.pop(rid, None)
            return
        self._calls[rid] = call_audio
        self._connect(call_audio)
        self._changed()

    def detach(self, rid: str) -> None:
        """The call was put on hold here: cut it from the agent both ways."""
        call_audio = self._calls.pop(rid, None)
        if call_audio is not None:
            self._disconnect(call_audio)
            self._changed()

    def forget(self, rid: str) -> None:
        """The call ended: its bridge slot is gone (and may be reused), touch nothing."""
        call_audio = self._calls.pop(rid, None)
        if call_audio is not None:
            self._changed(call_audio)

    def heard(self, rid: str) -> pj.AudioMedia | None:
        """The audio of call ``rid`` while the agent hears it (answered, not held here)."""
        return self._calls.get(rid)

    def ear(self) -> pj.AudioMedia | None:
        """The agent's ear (the headset or the station phone), if the mode has one now."""
        return self._ear_mouth()

    def mouth(self) -> pj.AudioMedia | None:
        """What calls hear of the agent: the headset, the station phone, or the source."""
        return self._ear_mouth() or self._source.port

    def _ear_mouth(self) -> pj.AudioMedia | None:
        if self.mode == "headset" and self._headset is not None:
            return self._headset.port
        if self.mode == "station":
            return self._station
        return None

    def _connect(self, call_audio: pj.AudioMedia) -> None:
        port = self._ear_mouth()
        try:
            if port is not None:
                call_audio.startTransmit(port)
                port.startTransmit(call_audio)
            else:
                self._source.connect(call_audio)
        except pj.Error as exc:
            log.warning("cannot connect call audio: %s", exc.reason)

    def _disconnect(self, call_audio: pj.AudioMedia) -> None:
        port = self._ear_mouth()
        with contextlib.suppress(pj.Error):
            if port is not None:
                call_audio.stopTransmit(port)
                port.stopTransmit(call_audio)
            else:
                self._source.disconnect(call_audio)

    def _each_call(self, action: Callable[[pj.AudioMedia], None]) -> None:
        for call_audio in list(self._calls.values()):
            action(call_audio)

    # --------------------------------------------------------------- station
    def station_audio(self, audio: pj.AudioMedia | None) -> None:
        """The station leg's audio came up (or went away): reconnect the calls to it."""
        if self.mode != "station":
            self._station = audio
            return
        if self._station is not None and audio is None:
            # The leg ended: its slot is already gone with its connections;
            # the calls get the source until the phone is back.
            gone, self._station = self._station, None
            self._each_call(self._connect)
            self._changed(gone)
            return
        self._each_call(self._disconnect)
        self._station = audio
        self._each_call(self._connect)
        self._changed()

    # ------------------------------------------------------------------ mode
    def switch(self, mode: str) -> None:
        """Change mode at once; attached calls follow. Raises AudioModeError if it cannot."""
        if mode not in MODES:
            raise AudioModeError(f"audio mode must be one of {', '.join(MODES)}")
        if mode == "station" and not self.settings.station_number:
            raise AudioModeError("station mode needs audio.station.number (your own phone)")
        if mode == self.mode and self.ok:
            return
        if mode == "headset" and self._headset is not None and not self._headset.healthy():
            self._headset.close()
            self._headset = None
        if mode == "headset" and self._headset is None:
            self._open_headset()  # raises before anything changes
        self._each_call(self._disconnect)
        self.mode = mode
        self.ok, self.detail = True, ""
        gone = None
        if mode != "headset" and self._headset is not None:
            gone = self._headset.port
            self._headset.close()
            self._headset = None
        self._each_call(self._connect)
        self._changed(gone)
        self._on_change()
