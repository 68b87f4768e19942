# SPDX-License-Identifier: GPL-2.0-or-later
"""What the engine sends into calls, and call-audio capture for tests and QA.

No Python code runs on pjmedia's clock thread here: the source is a pjsua2
tone generator or WAV player and capture is a WAV recorder, all native
(callbacks on media threads are where pjsua2's GIL deadlock lives).
"""

from __future__ import annotations

import pjsua2 as pj

from sip.codecs import WIDEBAND_RATE, Codec
from sip.engine_log import logger

log = logger(__name__)


def active_audio(call: pj.Call) -> pj.AudioMedia | None:
    """A call's audio that flows (active, or held by the far end), if any."""
    try:
        info = call.getInfo()
    except pj.Error:
        return None
    for index, media in enumerate(info.media):
        if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status in (
            pj.PJSUA_CALL_MEDIA_ACTIVE,
            pj.PJSUA_CALL_MEDIA_REMOTE_HOLD,
        ):
            try:
                return call.getAudioMedia(index)
            except pj.Error:
                return None
    return None


def stream_codec(call: pj.Call, info: pj.CallInfo) -> Codec | None:
    """The codec a call's audio stream runs with now (what negotiation chose), if any.

    ``info`` is the call's ``getInfo()``, which the media-state handler has already.
    """
    try:
        for index, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status != pj.PJSUA_CALL_MEDIA_NONE:
                stream = call.getStreamInfo(index)
                return Codec(str(stream.codecName), int(stream.codecClockRate))
    except pj.Error:
        return None
    return None


def tone_generator(
    hz: int, *, on_ms: int = 1000, off_ms: int = 0, clock_rate: int = 8000
) -> pj.ToneGenerator:
    """A playing tone of ``hz``: ``on_ms`` on, ``off_ms`` off, looped."""
    tone = pj.ToneGenerator()
    tone.createToneGenerator(clock_rate, 1)
    desc = pj.ToneDesc()
    desc.freq1 = hz
    desc.freq2 = 0
    desc.on_msec = on_ms
    desc.off_msec = off_ms
    desc.volume = 0
    tones = pj.ToneDescVector()
    tones.append(desc)
    tone.play(tones, True)
    return tone


class MediaSource:
    """The agent-side audio for calls with no headset: silence, a tone, or a WAV file."""

    def __init__(self, spec: str, *, clock_rate: int = WIDEBAND_RATE) -> None:
        """``clock_rate``: the conference bridge's; a tone is made at it, so the bridge
        has nothing to resample (it would, once a tick, for every call)."""
        self.spec = spec
        self._port: pj.AudioMedia | None = None
        if spec.startswith("tone:"):
            hz = int(float(spec.removeprefix("tone:")))
            self._port = tone_generator(hz, clock_rate=clock_rate)
        elif spec != "silence":
            player = pj.AudioMediaPlayer()
            player.createPlayer(spec, 0)  # 0: loop
            self._port = player

    @property
    def port(self) -> pj.AudioMedia | None:
        """The source's bridge port (None for silence)."""
        return self._port

    def connect(self, call_audio: pj.AudioMedia) -> None:
        """Start sending the source into a call's audio."""
        if self._port is not None:
            self._port.startTransmit(call_audio)

    def disconnect(self, call_audio: pj.AudioMedia) -> None:
        """Stop sending the source into a call's audio."""
        if self._port is not None:
            try:
                self._port.stopTransmit(call_audio)
            except pj.Error as exc:
                log.debug("stopTransmit: %s", exc.reason)

    def close(self) -> None:
        """Release the native port (before libDestroy)."""
        self._port = None


class Capture:
    """A call's received audio written to a WAV file until stopped."""

    def __init__(self, call_audio: pj.AudioMedia, path: str) -> None:
        self.path = path
        self._recorder = pj.AudioMediaRecorder()
        self._recorder.createRecorder(path)
        call_audio.startTransmit(self._recorder)

    def close(self) -> None:
        """Stop and flush the WAV file."""
        self._recorder = None
