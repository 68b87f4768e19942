"""The phone engine: one thread owns pjsua2 and everything it creates.

:class:`PhoneEngine` is driven by :meth:`PhoneEngine.run`, which must be
called on the thread that will own the library (the engine process's main
thread). Other threads talk to it only through :meth:`PhoneEngine.submit`
(a thread-safe command queue, the aiosqlite model) and receive plain dict
events and replies through callables. No pjsua2 object leaves this module
and :mod:`sip.callbacks`.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from sip.agent_audio import AgentAudio, AudioModeError
from sip.callbacks import PjAccount, PjCall, PjEndpoint
from sip.calls import CallControl
from sip.codec_policy import CodecPolicy, enabled_codecs
from sip.codecs import CodecPolicyError, codec_mismatch, offered, sdp_body
from sip.library import (
    StartError,
    account_config,
    create_transports,
    endpoint_config,
    measure_call_capacity,
)
from sip.library_report import describe as describe_library
from sip.library_report import summary as library_summary
from sip.media import MediaSource
from sip.protocol import (
    PROTOCOL_VERSION,
    Availability,
    CallState,
    Command,
    CommandError,
    EndedBy,
    EndReason,
    ErrorCode,
    Event,
    reply_error,
    reply_ok,
    utc_now_iso,
)
from sip.records import CallRecord
from sip.registration import describe_registration
from sip.settings import EngineSettings
from sip.sipmsg import caller_of, network_text, parse_headers, parse_name_addr, request_uri
from sip.station import STATION_RID, StationError, StationLeg

log = logging.getLogger(__name__)

Sink = Callable[[dict[str, Any]], None]
"""Where events or a reply go; must be thread-safe and must not block."""

POLL_MS = 5
"""How long one ``libHandleEvents`` call may wait; bounds command latency."""
LOST_CALL_CHECKS = 2
"""Once-a-second checks a call must fail before its record is ended as lost by the library."""
UNPLACED_CALL_CHECKS = 5
"""The same for a call the library never gave an id (a followed REFER it could not place)."""
DRAIN_SECONDS = 2.0
"""How long teardown waits for hung-up calls to reach DISCONNECTED."""
UNREGISTER_SECONDS = 2.0
"""How long teardown waits for the un-REGISTER to be answered."""

_PJ_STATE = {
    pj.PJSIP_INV_STATE_CALLING: CallState.CALLING,
    pj.PJSIP_INV_STATE_INCOMING: CallState.RINGING,
    pj.PJSIP_INV_STATE_EARLY: CallState.RINGING,
    pj.PJSIP_INV_STATE_CONNECTING: CallState.CONNECTING,
    pj.PJSIP_INV_STATE_CONFIRMED: CallState.ACTIVE,
    pj.PJSIP_INV_STATE_DISCONNECTED: CallState.ENDED,
}

EngineStartError = StartError


class PhoneEngine(CallControl):
    """A SIP user agent for one agent, driven through plain-dict commands."""

    def __init__(self, settings: EngineSettings, emit: Sink) -> None:
        self.settings = settings
        self._emit_sink = emit
        self._commands: queue.SimpleQueue[tuple[dict[str, Any], Sink]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._seq = 0
        self.calls: dict[str, CallRecord] = {}
        self.pj_calls: dict[str, PjCall] = {}
        self._lost_checks: dict[str, int] = {}
        self._sip_call_ids: dict[str, str] = {}
        """The SIP Call-ID each call had when first checked: a slot holding another is lost."""
        self._orphans: list[PjCall] = []
        """Library calls gone without a DISCONNECTED callback: kept until teardown, since
        deleting one now would hang up whatever call holds its slot today."""
        self._ended_this_turn: set[str] = set()
        """SIP Call-IDs of calls that ended in this loop turn (see on_library_rejected)."""
        self._deferred: list[tuple[float, Callable[[], None]]] = []
        self.endpoint: PjEndpoint | None = None
        self.account: PjAccount | None = None
        self.audio: AgentAudio | None = None
        self.codecs: CodecPolicy | None = None
        self.station = StationLeg(self, self._station_audio, self._audio_changed)
        self.ports: dict[str, int] = {}
        self.max_calls = 0
        self.capacity_measured = False
        self.library: dict[str, Any] = {}
        """Which pjsua2 build runs here (see sip.library_report)."""
        self.availability = Availability.AVAILABLE
        self.availability_reason = ""
        self.availability_since = utc_now_iso()
        self.registration: dict[str, Any] = {"state": "none"}
        self._captures = {}

    # ----------------------------------------------------------- thread-safe API
    def submit(self, message: dict[str, Any], reply: Sink) -> None:
        """Queue a command; ``reply`` gets exactly one reply dict (any thread)."""
        self._commands.put((message, reply))

    def request_stop(self) -> None:
        """Ask the engine loop to hang up, drain and stop (signal-handler safe)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """True once a stop was requested."""
        return self._stop.is_set()

    # ------------------------------------------------------------------ the loop
    def run(
        self,
        on_ready: Callable[[], None] | None = None,
        orphaned: Callable[[], bool] | None = None,
    ) -> None:
        """Start the library on this thread, serve until stopped, tear down.

        ``orphaned`` is asked about once a second while no call is live; when
        it says True the engine stops (nobody is left to use it).
        """
        self._start()
        try:
            log.info("engine listening on %s", self._listen_text())
            if on_ready is not None:
                on_ready()
            self.emit(
                Event.READY,
                listen=self._listen_text(),
                transports=dict(self.ports),
                transport="udp" if "udp" in self.ports else next(iter(self.ports)),
                max_calls=self.max_calls,
                capacity_measured=self.capacity_measured,
                queue_capacity=self.queue_capacity,
                audio=self.audio_fact(),
                codecs=self.codec_labels(),
                library=dict(self.library),
                protocol=PROTOCOL_VERSION,
            )
            assert self.endpoint is not None
            next_check = time.monotonic() + 1
            while not self._stop.is_set():
                self.endpoint.libHandleEvents(POLL_MS)
                self.restore_codecs()  # a narrowed codec list never outlives one pass
                self._run_deferred()
                self._drain_commands()
                self._end_turn()
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + 1
                    self.reconcile()
                    if self.audio is not None:
                        self.audio.check()
                    if orphaned is not None and not self.calls and orphaned():
                        log.info("no client and no call: engine exits")
                        self._stop.set()
        finally:
            self._teardown()

    @property
    def queue_capacity(self) -> int:
        """Incoming calls held at once: configured, never above the library's cap."""
        # Station mode keeps one of the library's slots for the leg to the
        # agent's phone, even while it is down, so it can always be called back;
        # when the configured queue is more than the slots, one more stays free
        # for a consult call or a dial.
        station = self.station.live or (self.audio is not None and self.audio.mode == "station")
        slots = (self.max_calls or 4) - station
        wanted = self.settings.queue_capacity
        return max(1, wanted if wanted < slots else slots - 1)

    def _listen_text(self) -> str:
        port = self.ports.get("udp") or next(iter(self.ports.values()), 0)
        return f"{self.settings.listen_host}:{port}"

    def _start(self) -> None:
        s = self.settings
        ep = PjEndpoint()
        ep.libCreate()
        self.endpoint = ep
        try:
            ep.libInit(endpoint_config(s))
            if not s.library_media_defaults:
                try:
                    self.codecs = CodecPolicy(
                        ep, s.codecs, allow_risky=s.allow_speex_despite_dropouts
                    )
                except CodecPolicyError as exc:
                    raise StartError(str(exc)) from None
            transports = create_transports(ep, s)
            self.ports = dict(transports.ports)
            ep.libStart()
            # The null device is the media clock; the agent's audio is the engine's
            # own (a PortAudio headset port or a station leg), never pjsua's devices.
            ep.audDevManager().setNullDev()
            measured = measure_call_capacity(ep, s.listen_host) if "udp" in self.ports else None
            self.capacity_measured = measured is not None
            self.max_calls = measured if measured else 4
            try:
                self.library = describe_library(ep, self.max_calls, measured=self.capacity_measured)
            except Exception:  # a report must never stop the phone from starting
                log.exception("could not describe the phone library")
            log.info("phone library: %s", library_summary(self.library))
            if s.queue_capacity > self.queue_capacity:
                log.warning(
                    "sip.queue_capacity %d is more than this library's %d call slots allow: "
                    "%d calls are held at once (the hardened library has 32: make library)",
                    s.queue_capacity,
                    self.max_calls,
                    self.queue_capacity,
                )
            self.audio = AgentAudio(s.audio, MediaSource(s.audio_source), self._audio_changed)
            self.audio.start()
            ep.engine = self
            account = PjAccount(self)
            account.create(account_config(s, transports), True)
            self.account = account
            if s.account is not None:
                self.registration = {"state": "registering", "registrar": s.account.registrar}
        except pj.Error as exc:
            self._destroy_library()
            raise StartError(f"the SIP library failed to start: {exc.reason}") from None
        except BaseException:
            self._destroy_library()
            raise

    def _teardown(self) -> None:
        """Hang up, unregister, let events drain, drop pjsua2 objects, destroy the library.

        The order is what keeps pjsip from asserting at exit (DESIGN.md).
        """
        self.emit(Event.STOPPING)
        ep = self.endpoint
        if ep is None:
            return
        self._hang_up_all()
        self.station.disconnect()
        deadline = time.monotonic() + DRAIN_SECONDS
        while (self.pj_calls or self.station.live) and time.monotonic() < deadline:
            ep.libHandleEvents(10)
        self._unregister(ep)
        while not self._commands.empty():
            message, reply = self._commands.get_nowait()
            reply(reply_error(message.get("id"), ErrorCode.SHUTTING_DOWN, "engine stopped"))
        self._destroy_library()

    def _unregister(self, ep: pj.Endpoint) -> None:
        if self.account is None or self.registration.get("state") != "registered":
            return
        with contextlib.suppress(pj.Error):
            self.account.setRegistration(False)
            deadline = time.monotonic() + UNREGISTER_SECONDS
            while self.registration.get("state") == "registered" and time.monotonic() < deadline:
                ep.libHandleEvents(10)

    def _hang_up_all(self) -> None:
        # Its own frame on purpose: a loop variable left holding a Call in
        # _teardown would outlive libDestroy() and assert in ~Call.
        for rid, call in list(self.pj_calls.items()):
            record = self.calls.get(rid)
            if record is not None and record.ended_locally_by is None:
                record.ended_locally_by = EndedBy.ENGINE
            self.hangup_pj(call, 503 if record and record.state == CallState.RINGING else 200)

    def _destroy_library(self) -> None:
        ep = self.endpoint
        if ep is None:
            return
        if self.audio is not None:
            self.audio.close()
            self.audio = None
        self.close_captures()
        self.codecs = None
        # Every Call goes before libDestroy(): one destroyed after it asserts.
        self.station.call = None
        self.pj_calls.clear()
        self._orphans.clear()
        if self.account is not None:
            with contextlib.suppress(pj.Error):
                self.account.shutdown()
            self.account = None
        ep.engine = None
        gc.collect()
        ep.libDestroy()
        self.endpoint = None

    def reconcile(self) -> None:
        """End every record whose library call is gone: none stays ringing or connecting.

        A call the agent's side did not end, with a library id, that the library
        no longer holds in :data:`LOST_CALL_CHECKS` checks in a row is over.
        """
        for rid, call in list(self.pj_calls.items()):
            record = self.calls.get(rid)
            if record is None or record.ended_locally_by is not None or self._holds(rid, call):
                self._lost_checks.pop(rid, None)
                continue
            checks = self._lost_checks.get(rid, 0) + 1
            unplaced = call.getId() == pj.PJSUA_INVALID_ID
            if checks < (UNPLACED_CALL_CHECKS if unplaced else LOST_CALL_CHECKS):
                self._lost_checks[rid] = checks
                continue
            del self._lost_checks[rid]
            log.warning("call %s: the phone library no longer has it; ending its record", rid)
            self._orphans.append(call)
            self._finish(record, 0, "the phone library lost this call")
        for table in (self._lost_checks, self._sip_call_ids):
            for rid in [rid for rid in table if rid not in self.pj_calls]:
                del table[rid]  # ended meanwhile

    def _holds(self, rid: str, call: PjCall) -> bool:
        """Whether the library still has this call, and not another one in its slot."""
        try:
            if call.getId() == pj.PJSUA_INVALID_ID or not call.isActive():
                return False
            sip_call_id = network_text(call.getInfo().callIdString)
        except pj.Error:
            return False
        return self._sip_call_ids.setdefault(rid, sip_call_id) == sip_call_id

    def defer(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` on the engine thread after ``delay`` seconds, outside callbacks."""
        self._deferred.append((time.monotonic() + delay, action))

    def _run_deferred(self) -> None:
        if not self._deferred:
            return
        now = time.monotonic()
        due = [item for item in self._deferred if item[0] <= now]
        if not due:
            return
        self._deferred = [item for item in self._deferred if item[0] > now]
        for _, action in due:
            try:
                action()
            except Exception:
                log.exception("deferred engine action failed")

    def _end_turn(self) -> None:
        self._ended_this_turn.clear()

    # ------------------------------------------------------------------ events
    def emit(self, event: Event, **payload: Any) -> None:
        """Push one event to every client."""
        self._seq += 1
        message = {"type": "event", "event": str(event), "seq": self._seq, "time": utc_now_iso()}
        message.update(payload)
        self._emit_sink(message)

    def snapshot(self) -> list[dict[str, Any]]:
        """Every live call as protocol objects (for hello/status)."""
        return [record.snapshot() for record in self.calls.values()]

    def status(self) -> dict[str, Any]:
        """Engine facts and every live call."""
        return {
            "protocol": PROTOCOL_VERSION,
            "listen": self._listen_text(),
            "transports": dict(self.ports),
            "max_calls": self.max_calls,
            "capacity_measured": self.capacity_measured,
            "queue_capacity": self.queue_capacity,
            "availability": self.availability_fact(),
            "registration": dict(self.registration),
            "audio": self.audio_fact(),
            "codecs": self.codec_labels(),
            "library": dict(self.library),
            "calls": self.snapshot(),
        }

    def codec_labels(self) -> list[str]:
        """The codecs calls may use, in order, as the library has them enabled."""
        return [codec.label for codec in enabled_codecs(self.endpoint)] if self.endpoint else []

    def availability_fact(self) -> dict[str, Any]:
        """The agent's availability as a protocol object."""
        return {
            "state": str(self.availability),
            "reason": self.availability_reason,
            "since": self.availability_since,
        }

    # --------------------------------------------------------- library callbacks
    def on_reg_state(self, code: int, reason: str, expiration: int) -> None:
        """Registration progressed (REGISTER answered, failed, or refreshed)."""
        fact = describe_registration(code, reason, expiration, self.settings.account)
        changed = fact["state"] != self.registration.get("state") or fact.get("code") != (
            self.registration.get("code")
        )
        self.registration = fact
        if changed or fact["state"] == "failed":
            self.emit(Event.REGISTRATION, **fact)

    def on_offer(self, sdp: str) -> None:
        """An SDP offer is about to be answered: answer with our best codec among its own."""
        if self.codecs is not None:
            self.codecs.narrow_to_offer(sdp)

    def on_sdp_created(self) -> None:
        """Our SDP for an offer exists: the whole codec policy applies again."""
        self.restore_codecs()

    def restore_codecs(self) -> None:
        """Undo :meth:`on_offer`'s narrowing (cheap when there is none)."""
        if self.codecs is not None:
            self.codecs.restore()

    def on_library_rejected(self, status: int, reason: str, raw: str) -> None:
        """pjsua refused an INVITE itself (e.g. every call slot in use, or unencrypted media)."""
        self.restore_codecs()
        sip_call_id = (parse_headers(raw).get("call-id") or [""])[0]
        if sip_call_id and sip_call_id in self._ended_this_turn:
            # Refused after it rang (its media failed, e.g. 406 for broken SRTP
            # crypto): call.ended has told the clients already; once is enough.
            log.info("library refused a call that had rung (%d): reported as ended", status)
            return
        party = caller_of(raw)
        why, detail = "refused", reason[:200]
        sdp = sdp_body(raw)
        if status == 486:
            why = "library_capacity"
        elif (
            status == 488
            and self.settings.srtp == "mandatory"
            and ("a=crypto:" not in sdp and "RTP/SAVP" not in sdp)
        ):
            # Under a mandatory SRTP policy pjsua answers 488 itself, before
            # onIncomingCall, to an offer without SDES crypto (plain RTP/AVP).
            why = "not_encrypted"
            detail = "the caller offered unencrypted media (plain RTP); sip.srtp is mandatory"
        elif status == 488 and self.codecs is not None:
            mismatch = codec_mismatch(offered(sdp), self.codecs.allowed)
            if mismatch:
                why, detail = "no_allowed_codec", mismatch
        self.emit(
            Event.CALL_TURNED_AWAY,
            caller={"display_name": party.display_name, "number": party.number, "uri": party.uri},
            called_uri=request_uri(raw),
            reason=why,
            sip_status=status,
            detail=detail,
        )

    def on_incoming(self, account: PjAccount, pj_call_id: int, raw: str) -> None:
        """A new INVITE: ring, turn away, or auto-answer."""
        rid = str(uuid.uuid4())
        call = PjCall(self, account, pj_call_id, rid)
        party = caller_of(raw)
        headers = parse_headers(raw)
        called = request_uri(raw)
        wanted = {name.lower(): name for name in self.settings.passthrough_headers}
        passed = {wanted[k]: v[0] for k, v in headers.items() if k in wanted and v}
        queue_name = passed.get("X-Queue") or parse_name_addr(called).number
        record = CallRecord(
            id=rid,
            direction="inbound",
            remote_name=party.display_name,
            remote_number=party.number,
            remote_uri=party.uri,
            called_uri=called,
            received_at=utc_now_iso(),
            queue=queue_name[:128],
            headers=passed,
        )
        self.calls[rid] = record
        self.pj_calls[rid] = call
        refusal = self._refusal()
        if refusal is not None:
            code, why = refusal
            record.turned_away = True
            record.reject_code = code
            record.ended_locally_by = EndedBy.ENGINE
            self.hangup_pj(call, code)
            self.emit(
                Event.CALL_TURNED_AWAY,
                caller=record.snapshot()["caller"],
                called_uri=called,
                queue=record.queue,
                reason=why,
                sip_status=code,
                availability=self.availability_fact(),
            )
            return
        record.mark("ring")
        auto_code = self.settings.auto_answer
        if auto_code is None and record.queue in self.settings.auto_answer_queues:
            auto_code = 200
            record.auto_answered = True  # "auto-in": the console beeps instead of ringing
        self.emit(Event.CALL_INCOMING, call=record.snapshot())
        try:
            prm = pj.CallOpParam()
            prm.statusCode = 180
            call.answer(prm)
        except pj.Error as exc:
            log.warning("could not send 180 for call %s: %s", rid, exc.reason)
        if auto_code is not None:
            code = auto_code
            self.defer(0, lambda: self._auto_answer(rid, code))

    def _refusal(self) -> tuple[int, str] | None:
        """Why a new call must be turned away now, or None."""
        state = self.availability
        allowed = state == Availability.AVAILABLE or (
            state == Availability.WRAP_UP and self.settings.accept_calls_in_wrap_up
        )
        if not allowed:
            return self.settings.unavailable_code, f"agent {state}"
        inbound = sum(
            1
            for r in self.calls.values()
            if r.direction == "inbound" and r.live and not r.turned_away
        )
        if inbound > self.queue_capacity:  # the new call is already counted
            return self.settings.busy_code, "queue_full"
        return None

    def _auto_answer(self, rid: str, code: int) -> None:
        record = self.calls.get(rid)
        if record is None or record.state != CallState.RINGING:
            return
        try:
            if code < 300:
                self.answer(record)
            else:
                self.reject(record, code)
        except CommandError as exc:
            log.warning("auto-answer of %s failed: %s", rid, exc)

    def on_call_state(self, call: PjCall) -> None:
        """A call's INVITE session changed state."""
        # A new INVITE's SDP is made once its media transport is ready, which
        # can be after onIncomingCall; its first state change comes after that.
        self.restore_codecs()
        if call.rid == STATION_RID:
            self.station.on_call_state(call)
            return
        record = self.calls.get(call.rid)
        if record is None:
            return
        info = call.getInfo()
        state = _PJ_STATE.get(info.state)
        if state is None:
            return
        if state == CallState.ENDED:
            self._finish(record, int(info.lastStatusCode), network_text(info.lastReason))
            return
        if state == CallState.RINGING and record.direction == "outbound":
            state = CallState.EARLY if int(info.lastStatusCode) == 183 else CallState.RINGING
        if state == record.state:
            return
        record.state = state
        if state == CallState.ACTIVE and record.answered_at is None:
            record.answered_at = utc_now_iso()
            record.mark("answer")
        if record.turned_away:
            return
        self.emit(
            Event.CALL_STATE,
            call_id=record.id,
            state=str(state),
            sip_status=int(info.lastStatusCode),
        )

    def _finish(self, record: CallRecord, status: int, reason: str) -> None:
        answered = record.answered_at is not None
        ended_by: EndedBy
        why: EndReason
        if record.ended_locally_by is not None:
            ended_by = record.ended_locally_by
            if ended_by == EndedBy.ENGINE:
                why = EndReason.SHUTDOWN
            else:
                why = EndReason.COMPLETED if answered else EndReason.REJECTED
        elif answered and (status < 300 or status == 487):
            ended_by, why = EndedBy.CALLER, EndReason.COMPLETED
        elif not answered and status == 487 and record.direction == "inbound":
            ended_by, why = EndedBy.CALLER, EndReason.CANCELLED
        elif not answered and record.direction == "outbound" and 400 <= status < 700:
            ended_by, why = EndedBy.CALLER, EndReason.REJECTED
        else:
            ended_by, why = EndedBy.NETWORK, EndReason.FAILED
        if record.transfer and record.transfer.get("status") == "succeeded":
            why = EndReason.TRANSFERRED
        original = self.calls.get(record.consult_for or "")
        if original is not None and (original.transfer or {}).get("status") in (
            "trying",
            "ringing",
        ):
            # The target ends the consult leg itself once the caller's INVITE with
            # Replaces has taken it over, often before the NOTIFY 200 reaches us.
            ended_by, why = EndedBy.AGENT, EndReason.TRANSFERRED
        if record.reject_code is not None:
            status = record.reject_code
        record.state = CallState.ENDED
        record.ended_at = utc_now_iso()
        record.mark("end", reason=str(why), ended_by=str(ended_by), sip_status=status)
        # The engine's last reference to the library call goes here, inside its
        # DISCONNECTED callback: pjsua2 deletes it as the callback returns, while
        # its slot is still its own. Deleted a turn later, Call::~Call hangs up
        # whatever new call took the slot meanwhile (ghost calls under load).
        pj_call = self.pj_calls.pop(record.id, None)
        if pj_call is not None:
            with contextlib.suppress(pj.Error):
                self._ended_this_turn.add(network_text(pj_call.getInfo().callIdString))
        self.calls.pop(record.id, None)
        self.release_media(record.id)
        if self.audio is not None:
            self.audio.forget(record.id)
        del pj_call
        if record.turned_away:
            return
        self.emit(
            Event.CALL_STATE, call_id=record.id, state=str(CallState.ENDED), sip_status=status
        )
        self.emit(
            Event.CALL_ENDED,
            call_id=record.id,
            reason=str(why),
            ended_by=str(ended_by),
            sip_status=status,
            sip_reason=reason[:200],
            call=record.snapshot(),
        )
        self.after_end(record)

    # ----------------------------------------------------------------- commands
    def _drain_commands(self) -> None:
        while True:
            try:
                message, reply = self._commands.get_nowait()
            except queue.Empty:
                return
            request_id = message.get("id")
            rid = request_id if isinstance(request_id, str) else None
            try:
                if rid is None:
                    raise CommandError(ErrorCode.BAD_REQUEST, "a command needs a string 'id'")
                result = self._execute(message)
            except CommandError as exc:
                reply(reply_error(rid, exc.code, exc.message))
            except pj.Error as exc:
                reply(reply_error(rid, ErrorCode.SIP_ERROR, str(exc.reason)))
            except Exception as exc:  # never let one command stop the engine
                log.exception("command %r failed", message.get("cmd"))
                reply(
                    reply_error(rid, ErrorCode.SIP_ERROR, f"internal error: {type(exc).__name__}")
                )
            else:
                reply(reply_ok(rid or "", result))

    def _execute(self, message: dict[str, Any]) -> dict[str, Any]:
        name = message.get("cmd")
        try:
            command = Command(str(name))
        except ValueError:
            raise CommandError(ErrorCode.UNKNOWN_COMMAND, f"unknown command {name!r}") from None
        if command == Command.PING:
            return {"pong": True}
        if command == Command.STATUS:
            return self.status()
        if command == Command.SHUTDOWN:
            self.request_stop()
            return {}
        if command == Command.REGISTER:
            return self._register(message)
        if command == Command.AUDIO:
            return self._cmd_audio(message)
        if command == Command.STATION:
            return self._cmd_station(message)
        return self.dispatch(command, message)

    def _register(self, message: dict[str, Any]) -> dict[str, Any]:
        """Re-register now (``refresh``) or remove the registration (``unregister``)."""
        action = message.get("action", "refresh")
        if action not in ("refresh", "unregister"):
            raise CommandError(ErrorCode.BAD_REQUEST, "action must be refresh or unregister")
        if self.account is None or self.settings.account is None:
            raise CommandError(ErrorCode.INVALID_STATE, "no account is configured (sip.account)")
        self.account.setRegistration(action == "refresh")
        self.registration = {
            **self.registration,
            "state": "registering" if action == "refresh" else "unregistering",
        }
        return {"action": action}

    # ------------------------------------------------------------------ audio
    def audio_fact(self) -> dict[str, Any]:
        """The agent's audio path (mode, health, station leg) as a protocol object."""
        fact = self.audio.fact() if self.audio is not None else {"mode": "none", "ok": False}
        fact["station"] = self.station.fact()
        fact["queue_capacity"] = self.queue_capacity
        return fact

    def _audio_changed(self) -> None:
        self.emit(Event.AUDIO, **self.audio_fact())

    def _station_audio(self, audio: pj.AudioMedia | None) -> None:
        if self.audio is not None:
            self.audio.station_audio(audio)

    def _cmd_audio(self, message: dict[str, Any]) -> dict[str, Any]:
        """Report the audio path, or switch mode (``mode``); station mode calls the phone."""
        mode = message.get("mode")
        if mode is None:
            return self.audio_fact()
        if self.audio is None:
            raise CommandError(ErrorCode.INVALID_STATE, "the phone is not ready")
        previous = self.audio.mode
        if mode == "station" and not self.station.live:
            self._station_callable()  # before anything changes: the mode stays as it was
        try:
            self.audio.switch(str(mode))
        except AudioModeError as exc:
            raise CommandError(ErrorCode.INVALID_STATE, str(exc)) from None
        if mode == "station":
            try:
                self._station_connect()
            except CommandError:
                with contextlib.suppress(AudioModeError):
                    self.audio.switch(previous)
                raise
        else:
            self.station.disconnect()
        return self.audio_fact()

    def _cmd_station(self, message: dict[str, Any]) -> dict[str, Any]:
        """Call the agent's phone (``connect``, idempotent) or hang it up (``disconnect``)."""
        action = message.get("action", "connect")
        if action not in ("connect", "disconnect"):
            raise CommandError(ErrorCode.BAD_REQUEST, "action must be connect or disconnect")
        if action == "disconnect":
            self.station.disconnect()
        elif self.audio is None or self.audio.mode != "station":
            raise CommandError(ErrorCode.INVALID_STATE, "audio mode is not station")
        else:
            self._station_connect()
        return self.audio_fact()

    def _station_callable(self) -> None:
        """Raise unless the station phone can be called now (number, account, a free slot)."""
        try:
            self.station.target_uri()
        except StationError as exc:
            raise CommandError(ErrorCode.SIP_ERROR, str(exc)) from None
        self._check_capacity()

    def _station_connect(self) -> None:
        if not self.station.live:
            self._station_callable()
        try:
            self.station.connect()
        except StationError as exc:
            raise CommandError(ErrorCode.SIP_ERROR, str(exc)) from None

    def record_for(self, message: dict[str, Any], key: str = "call") -> CallRecord:
        """The live call named by ``message[key]``; typed errors otherwise."""
        call_id = message.get(key)
        if not isinstance(call_id, str):
            raise CommandError(ErrorCode.BAD_REQUEST, f"this command needs a '{key}' id")
        record = self.calls.get(call_id)
        if record is None or record.turned_away:
            raise CommandError(ErrorCode.NO_SUCH_CALL, f"no live call {call_id}")
        return record

    def new_record_id(self) -> str:
        """A fresh call id."""
        return str(uuid.uuid4())
