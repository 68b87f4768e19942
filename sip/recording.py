# SPDX-License-Identifier: GPL-2.0-or-later
"""Call recording in the engine: which calls are recorded, announcements, consent, pause.

:class:`CallRecordings` is a part of :class:`sip.engine.PhoneEngine`. It
watches the agent's audio (:class:`sip.agent_audio.AgentAudio` tells it when
a call joins and leaves the agent) and the engine's events, and records each
inbound call whose queue says so (``settings.recording``):

* ``announce`` -- when the call is answered the announcement plays to the
  patient, the agent not yet connected; then the agent joins and recording
  starts;
* ``consent`` -- the announcement (if any) plays the same way; recording
  starts only once the patient presses 1 or the agent records their spoken
  yes (``recording`` command, ``consent``); 2 or the agent's ``refuse`` means
  no recording and no file;
* ``off`` (or a queue not listed) -- nothing.

The mix of the patient and the agent's voice is written by a
:class:`sip.recording_sink.RecordingSink`, encrypted as it is written with a
key the console hands over (``recording`` command, ``key``): without one no
call is recorded (the agent is told), never in plaintext. A hold (the call
leaves the agent), a pause and the agent's mute are silence in the file, and
each is a mark on its timeline with a transfer's steps. Everything runs on
the engine thread.

The file, the sink and the announcement's WAV reader are imported when a call is
first recorded (or the key arrives): an engine that records nothing never loads
them, nor ``hashlib`` (OpenSSL's digests, 2 MiB of an idle engine, measured).
"""

from __future__ import annotations

import contextlib

import pjsua2 as pj

from sip.agent_audio import AgentAudio
from sip.callbook import CallBook
from sip.engine_log import logger
from sip.media import active_audio
from sip.plain import field, plain
from sip.protocol import CallState, CommandError, ErrorCode, Event
from sip.settings import QueueRecordingSettings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sip.callbook import EngineHost
    from sip.recording_sink import RecordingSink

log = logger(__name__)

CONSENT_DIGIT = "1"
"""The digit a patient presses to agree to the recording."""
REFUSE_DIGIT = "2"
"""The digit a patient presses to refuse it."""
FILE_SUFFIX = ".clrec"
"""Recording files are ``<call id>.clrec`` in the recordings directory."""


def announcement_seconds(path: str) -> float:
    """How long a WAV announcement plays (its header says)."""
    import wave

    with wave.open(path, "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())


@plain()
class _Recorded:
    """One call's recording as the engine keeps it."""

    rid: str
    policy: QueueRecordingSettings
    state: str = "pending"
    """pending, announcing, awaiting_consent, recording, refused, failed, stopped."""
    sink: RecordingSink | None = None
    call_audio: pj.AudioMedia | None = None
    voice: pj.AudioMedia | None = None
    player: pj.AudioMediaPlayer | None = None
    announced: bool = False
    paused: bool = False
    held: bool = False
    muted: bool = False
    detail: str = ""
    consent_by: str = ""
    pauses: list[dict[str, str]] = field(default_factory=list)


class CallRecordings:
    """Records the calls of the queues that say so; the ``recording`` command."""

    def __init__(self, host: EngineHost, book: CallBook) -> None:
        self._host = host
        self._book = book
        self._key: bytes | None = None
        self._calls: dict[str, _Recorded] = {}
        self._policies = {q.queue: q for q in host.settings.recording.queues}
        self._checking = False

    # ------------------------------------------------------------------ policy
    def _policy(self, rid: str) -> QueueRecordingSettings | None:
        record = self._book.calls.get(rid)
        if record is None or record.direction != "inbound" or record.turned_away:
            return None
        policy = self._policies.get(record.queue) or self._policies.get("*")
        return policy if policy is not None and policy.mode != "off" else None

    # ------------------------------------------------------- the agent's audio
    def follow(self, audio: AgentAudio) -> None:
        """Watch the agent's audio: asked before a call joins it, told when calls change."""
        audio.admit = self.admit
        audio.watch(self.audio_changed)

    def admit(self, rid: str, call_audio: pj.AudioMedia) -> bool:
        """May the call's audio join the agent now? False while the announcement plays to
        the patient (asked by :meth:`sip.agent_audio.AgentAudio.attach`)."""
        rec = self._calls.get(rid)
        if rec is None:
            policy = self._policy(rid)
            if policy is None:
                return True
            muted = self._book.calls[rid].muted  # a mute before the audio came up counts
            rec = self._calls[rid] = _Recorded(rid, policy, muted=muted)
        if rec.state == "announcing":
            return False
        if rec.state == "pending":
            if rec.policy.announcement and not rec.announced:
                rec.call_audio = call_audio
                self._announce(rec)
                return rec.state != "announcing"
            self._after_announcement(rec)
        return True

    def audio_changed(self, gone: int | None) -> None:
        """The agent's calls or voice changed (AgentAudio's watcher): follow them.

        ``gone`` is the bridge slot of a port destroyed with its connections: a
        recording connected to it forgets it without touching it.
        """
        audio = self._host.audio
        voice = audio.mouth() if audio is not None else None
        for rec in list(self._calls.values()):
            if rec.rid not in self._book.calls:
                self._finish(rec)  # the call ended
                continue
            if rec.state == "announcing":
                continue
            heard = audio.heard(rec.rid) if audio is not None else None
            for name in ("call_audio", "voice"):
                port = getattr(rec, name)
                if port is not None and _slot(port) == gone:
                    setattr(rec, name, None)
            if heard is None:
                if not rec.held:
                    rec.held = True
                    self._mark(rec, "hold")
                    self._apply(rec)
                continue
            self._set_port(rec, "call_audio", heard)
            self._set_port(rec, "voice", voice)
            if rec.held:
                rec.held = False
                self._mark(rec, "hold_end")
                self._apply(rec)

    # ------------------------------------------------------------------ events
    def observe(self, event: Event, payload: dict[str, Any]) -> None:
        """An engine event: a patient's digit, a mute, a transfer's step."""
        rec = self._calls.get(str(payload.get("call_id", "")))
        if rec is None:
            return
        if event == Event.CALL_ENDED:
            self._finish(rec)
        elif event == Event.CALL_DTMF and rec.state == "awaiting_consent":
            digit = str(payload.get("digit", ""))
            if digit == CONSENT_DIGIT:
                self._consent(rec, "patient")
            elif digit == REFUSE_DIGIT:
                self._refuse(rec, "patient")
        elif event == Event.CALL_MUTE:
            rec.muted = bool(payload.get("muted"))
            self._connect(rec)
            self._mark(rec, "mute" if rec.muted else "unmute")
        elif event == Event.CALL_TRANSFER and rec.sink is not None:
            # Kind and status only: the target may be a person's number.
            transfer = (payload.get("call") or {}).get("transfer") or {}
            self._mark(rec, "transfer", kind=transfer.get("kind"), status=payload.get("status"))

    # ----------------------------------------------------------------- command
    def cmd_recording(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``recording`` command: ``key`` (the recordings key, base64), or on a
        ``call``: ``pause``, ``resume``, ``consent``, ``refuse``, ``status``."""
        action = message.get("action")
        if action == "key":
            self._key = _key_from(message.get("key"))
            return {"key": True}
        if action not in ("pause", "resume", "consent", "refuse", "status"):
            raise CommandError(
                ErrorCode.BAD_REQUEST,
                "action must be key, pause, resume, consent, refuse or status",
            )
        record = self._book.record_for(message)
        rec = self._calls.get(record.id)
        if rec is None:
            raise CommandError(ErrorCode.INVALID_STATE, "this call is not recorded")
        if action == "pause" or action == "resume":
            if rec.state != "recording":
                raise CommandError(ErrorCode.INVALID_STATE, f"the recording is {rec.state}")
            wanted = action == "pause"
            if rec.paused != wanted:
                rec.paused = wanted
                reason = str(message.get("reason", ""))[:40]
                self._mark(rec, "pause" if wanted else "resume", reason=reason)
                self._apply(rec, reason=reason)
        elif action in ("consent", "refuse"):
            if rec.state != "awaiting_consent":
                raise CommandError(ErrorCode.INVALID_STATE, f"the recording is {rec.state}")
            (self._consent if action == "consent" else self._refuse)(rec, "agent")
        return self.fact(rec)

    # ------------------------------------------------------------------- facts
    def fact(self, rec: _Recorded) -> dict[str, Any]:
        """A call's recording as a protocol object (``recording`` event and replies)."""
        fact: dict[str, Any] = {
            "call_id": rec.rid,
            "mode": rec.policy.mode,
            "state": rec.state,
            "paused": rec.paused,
            "held": rec.held,
            "detail": rec.detail,
        }
        if rec.consent_by:
            fact["consent_by"] = rec.consent_by
        if rec.sink is not None:
            fact["file"] = str(rec.sink.path)
            fact["sample_rate"] = rec.sink.clock_rate
            fact["bytes"] = rec.sink.bytes_written
        return fact

    def _changed(self, rec: _Recorded, **extra: Any) -> None:
        self._host.emit(Event.RECORDING, **self.fact(rec), **extra)

    # ------------------------------------------------------------ announcement
    def _announce(self, rec: _Recorded) -> None:
        """Play the announcement to the patient; the agent joins when it has played."""
        import wave

        path = rec.policy.announcement
        try:
            seconds = announcement_seconds(path)
            player = pj.AudioMediaPlayer()
            player.createPlayer(path, pj.PJMEDIA_FILE_NO_LOOP)
            assert rec.call_audio is not None
            player.startTransmit(rec.call_audio)
        except (OSError, wave.Error, EOFError, pj.Error) as exc:
            # The patient must not be recorded unannounced: the agent talks, nothing is kept.
            reason = exc.reason if isinstance(exc, pj.Error) else type(exc).__name__
            log.warning("recording announcement cannot play: %s", reason)
            rec.announced = True
            self._fail(rec, "the recording announcement could not be played")
            return
        rec.player = player
        rec.announced = True
        rec.state = "announcing"
        self._changed(rec)
        # Timed by the file's length, not pjmedia's end-of-file callback: that runs
        # Python on the media clock thread (pjsua2's GIL deadlock, DESIGN.md).
        rid = rec.rid  # not rec: a deferred action must hold no library object
        self._host.defer(seconds + 0.1, lambda: self._announcement_played(rid))

    def _announcement_played(self, rid: str) -> None:
        rec = self._calls.get(rid)
        if rec is None or rec.state != "announcing":
            return
        rec.player = None
        rec.state = "pending"
        self._after_announcement(rec)
        record = self._book.calls.get(rid)
        call = self._book.pj_calls.get(rid)
        audio = active_audio(call) if call is not None else None
        agent = self._host.audio
        if record is not None and not record.local_hold and audio is not None and agent:
            agent.attach(rid, audio)  # joins the agent (and the recording) now

    def _after_announcement(self, rec: _Recorded) -> None:
        if rec.policy.mode == "consent":
            rec.state = "awaiting_consent"
            self._changed(rec)
        else:
            self._start(rec)

    # ----------------------------------------------------------------- consent
    def _consent(self, rec: _Recorded, by: str) -> None:
        rec.consent_by = by
        self._start(rec)
        self._connect(rec)
        self._apply(rec)

    def _refuse(self, rec: _Recorded, by: str) -> None:
        rec.state = "refused"
        rec.consent_by = by
        self._changed(rec)

    # ------------------------------------------------------------- the file
    def _start(self, rec: _Recorded) -> None:
        """Open the encrypted file and start recording (never without a key)."""
        if self._key is None:
            self._fail(rec, "no recordings key: the console has not unlocked recording")
            return
        record = self._book.calls.get(rec.rid)
        if record is None or record.state == CallState.ENDED:
            return
        from pathlib import Path

        from sip.recording_sink import RecordingSink

        directory = Path(self._host.settings.recording.directory)
        try:
            if not self._host.settings.recording.directory:
                raise OSError("no recordings directory is set")  # never the working directory
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            rec.sink = RecordingSink(
                directory / f"{rec.rid}{FILE_SUFFIX}",
                self._key,
                call_id=rec.rid,
                clock_rate=self._host.clock_rate,
            )
        except OSError as exc:
            log.warning("recording cannot start: %s", exc.strerror or exc)
            self._fail(rec, "the recording file cannot be created")
            return
        rec.state = "recording"
        self._mark(rec, "start", mode=rec.policy.mode, consent_by=rec.consent_by or None)
        self._changed(rec)
        if not self._checking:
            self._checking = True
            self._host.defer(1.0, self._check_soon)

    def _fail(self, rec: _Recorded, detail: str) -> None:
        rec.state = "failed"
        rec.detail = detail
        self._drop_sink(rec)
        self._changed(rec)

    def _finish(self, rec: _Recorded) -> None:
        """The call ended: close the file with its summary."""
        self._calls.pop(rec.rid, None)
        rec.player = rec.call_audio = rec.voice = None  # the call's ports go with it
        if rec.sink is None:
            if rec.state in ("awaiting_consent", "pending", "announcing"):
                rec.state = "refused" if rec.policy.mode == "consent" else "stopped"
                rec.detail = "the call ended before recording started"
                self._changed(rec)
            return
        sink = rec.sink
        written = sink.stop({"pauses": len(rec.pauses)})
        if not written and rec.state != "failed":
            rec.state, rec.detail = "failed", sink.error or "the recording was not finished"
        elif rec.state != "failed":
            rec.state = "stopped"
        self._changed(rec, seconds=round(sink.samples / sink.clock_rate, 2))
        rec.sink = None

    def _drop_sink(self, rec: _Recorded) -> None:
        """Stop writing (a failure): what reached the disk stays, and it is said once."""
        if rec.sink is not None:
            rec.sink.stop({"failed": rec.detail})
            rec.sink = None

    def _check_soon(self) -> None:
        """Check every second while something is recorded."""
        self.check()
        self._checking = any(rec.sink is not None for rec in self._calls.values())
        if self._checking:
            self._host.defer(1.0, self._check_soon)

    def check(self) -> None:
        """A recording whose disk refused is reported and stopped."""
        for rec in list(self._calls.values()):
            if rec.sink is not None and rec.sink.error is not None and rec.state == "recording":
                error = rec.sink.error
                self._drop_sink(rec)
                rec.state, rec.detail = "failed", error
                self._changed(rec)

    def close(self) -> None:
        """Finish every recording and drop every port (before ``libDestroy``)."""
        for rec in list(self._calls.values()):
            self._finish(rec)

    # ------------------------------------------------------------- the bridge
    def _set_port(self, rec: _Recorded, name: str, port: pj.AudioMedia | None) -> None:
        """Point the recording at another call audio or voice port (the old one let go)."""
        # Always (re)connect, as AgentAudio.attach does: pjsua may rebuild a call's
        # stream port in the same slot on a re-INVITE, dropping its connections.
        old = getattr(rec, name)
        moved = old is not None and (port is None or _slot(old) != _slot(port))
        if moved and rec.sink is not None and rec.sink.port is not None:
            with contextlib.suppress(pj.Error):
                old.stopTransmit(rec.sink.port)
        setattr(rec, name, port)
        self._connect(rec)

    def _connect(self, rec: _Recorded) -> None:
        """The patient and (unless muted) the agent's voice into the recording port."""
        if rec.sink is None or rec.sink.port is None:
            return
        port = rec.sink.port
        try:
            if rec.call_audio is not None:
                rec.call_audio.startTransmit(port)
            if rec.voice is not None:
                if rec.muted:
                    rec.voice.stopTransmit(port)
                else:
                    rec.voice.startTransmit(port)
        except pj.Error as exc:
            log.warning("cannot connect the recording: %s", exc.reason)

    def _apply(self, rec: _Recorded, **extra: Any) -> None:
        """Live unless paused or held; tell the clients."""
        if rec.sink is not None:
            rec.sink.live(rec.state == "recording" and not rec.paused and not rec.held)
        self._changed(rec, **extra)

    def _mark(self, rec: _Recorded, fact: str, **details: Any) -> None:
        if fact in ("pause", "resume"):
            rec.pauses.append({"fact": fact})
        if rec.sink is not None:
            rec.sink.mark(fact, **{k: v for k, v in details.items() if v is not None})


def _slot(port: pj.AudioMedia) -> int | None:
    """A port's conference-bridge slot (None once it is gone)."""
    try:
        return int(port.getPortId())
    except pj.Error:
        return None


def _key_from(value: object) -> bytes:
    """The recordings key from its base64 text (never echoed in an error)."""
    import base64
    import binascii

    from sip.recording_file import KEY_BYTES

    if not isinstance(value, str):
        raise CommandError(ErrorCode.BAD_REQUEST, "key must be base64 text")
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CommandError(ErrorCode.BAD_REQUEST, "key must be base64 text") from None
    if len(key) != KEY_BYTES:
        raise CommandError(ErrorCode.BAD_REQUEST, f"key must be {KEY_BYTES} bytes")
    return key
