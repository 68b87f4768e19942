# SPDX-License-Identifier: GPL-2.0-or-later
"""The phone engine: one thread owns pjsua2 and everything it creates.

:class:`PhoneEngine` is driven by :meth:`PhoneEngine.run`, which must be
called on the thread that will own the library (the engine process's main
thread). Other threads talk to it only through :meth:`PhoneEngine.submit`
(a thread-safe command queue, the aiosqlite model) and receive plain dict
events and replies through callables. No pjsua2 object leaves the engine and
the parts it composes: :mod:`sip.callbook` (the live calls), :mod:`sip.calls`,
:mod:`sip.hold`, :mod:`sip.transfer`, :mod:`sip.intake`, :mod:`sip.audio_path`,
:mod:`sip.account_registration`, :mod:`sip.monitor`, :mod:`sip.recording`,
with :mod:`sip.commands` (the one table of commands) and :mod:`sip.callbacks`
(what the library calls back).
"""

from __future__ import annotations

import contextlib
import gc
import queue
import threading
import time
from collections.abc import Callable

import pjsua2 as pj

from sip.account_registration import AccountRegistration
from sip.agent_audio import AgentAudio
from sip.audio_path import AudioPath
from sip.callbacks import PjAccount, PjCall, PjEndpoint
from sip.callbook import CallBook, hang_up
from sip.calls import CallControl
from sip.codec_policy import CodecPolicy, enabled_codecs
from sip.codecs import CodecPolicyError
from sip.commands import command_table
from sip.deferred import DeferredActions
from sip.engine_log import logger
from sip.hold import HoldControl
from sip.intake import CallIntake
from sip.library import (
    StartError,
    account_config,
    call_capacity,
    create_transports,
    destroy_endpoint,
    endpoint_config,
)
from sip.library_report import report_at_start
from sip.loop_pace import LoopPace
from sip.media import MediaSource
from sip.monitor import Monitors, is_monitor
from sip.protocol import (
    PROTOCOL_VERSION,
    CallState,
    Command,
    CommandError,
    EndedBy,
    ErrorCode,
    Event,
    reply_error,
    reply_ok,
    utc_now_iso,
)
from sip.recording import CallRecordings
from sip.records import CallRecord
from sip.settings import EngineSettings
from sip.station import STATION_RID, StationLeg
from sip.transfer import Transfers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Sink = Callable[[dict[str, Any]], None]
    """Where events or a reply go; must be thread-safe and must not block."""
    from sip.callbacks import EngineCallbacks
    from sip.callbook import Handler

log = logger(__name__)

DRAIN_SECONDS = 2.0
"""How long teardown waits for hung-up calls to reach DISCONNECTED."""

EngineStartError = StartError


class PhoneEngine:
    """A SIP user agent for one agent, driven through plain-dict commands.

    It owns the library and the loop, and composes the parts that act on calls:
    the :class:`CallBook` of live calls, :class:`CallControl`, :class:`HoldControl`,
    :class:`Transfers`, :class:`CallIntake` and the :class:`AudioPath`. Each is handed
    the engine's narrow :class:`sip.callbook.EngineHost` view; the library's callbacks
    and the commands (one table, :attr:`handlers`) reach them through the engine.
    """

    def __init__(self, settings: EngineSettings, emit: Sink) -> None:
        self.settings = settings
        self._emit_sink = emit
        self._commands: queue.SimpleQueue[tuple[dict[str, Any], Sink]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._seq = 0
        self._deferred = DeferredActions()
        self._pace = LoopPace()
        self.endpoint: PjEndpoint | None = None
        self.account: PjAccount | None = None
        self.audio: AgentAudio | None = None
        self.codecs: CodecPolicy | None = None
        self.ports: dict[str, int] = {}
        self.max_calls = 0
        self.clock_rate = 0
        """The conference bridge's clock rate, as configured (sip.codecs.bridge_rate)."""
        self.capacity_measured = False
        self.library: dict[str, Any] = {}
        """Which pjsua2 build runs here (see sip.library_report)."""
        self.registration = AccountRegistration(self)
        self.book = CallBook(self)
        self.hold = HoldControl(self, self.book)
        self.control = CallControl(self, self.book, self.hold)
        self.transfers = Transfers(self, self.book, self.control, self.hold)
        self.intake = CallIntake(self, self.book, self.control)
        self.audio_path = AudioPath(self, self.control.check_capacity)
        self.monitors = Monitors(self, self.book, self.control)
        self.recordings = CallRecordings(self, self.book)
        self.station = StationLeg(self, self.audio_path.station_audio, self.audio_path.changed)
        self.handlers: dict[Command, Handler] = command_table(self)
        """Every command the engine takes, and what runs it."""

    @property
    def calls(self) -> dict[str, CallRecord]:
        """Every live call's record, by call id."""
        return self.book.calls

    @property
    def pj_calls(self) -> dict[str, PjCall]:
        """Every live call's library call, by call id."""
        return self.book.pj_calls

    # ----------------------------------------------------------- thread-safe API
    def submit(self, message: dict[str, Any], reply: Sink) -> None:
        """Queue a command; ``reply`` gets exactly one reply dict (any thread)."""
        self._commands.put((message, reply))
        self._pace.wake()

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
            transport = "udp" if "udp" in self.ports else next(iter(self.ports))
            self.emit(Event.READY, transport=transport, **self._facts())
            assert self.endpoint is not None
            next_check = time.monotonic() + 1
            while not self._stop.is_set():
                self.endpoint.libHandleEvents(self._poll_ms())
                self.restore_codecs()  # a narrowed codec list never outlives one pass
                self._deferred.run_due()
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
            config = endpoint_config(s)
            self.clock_rate = int(config.medConfig.clockRate)
            ep.libInit(config)
            if not s.library_media_defaults:
                try:
                    self.codecs = CodecPolicy(
                        ep, s.codecs, allow_risky=s.allow_speex_despite_dropouts
                    )
                except CodecPolicyError as exc:
                    raise StartError(str(exc)) from None
            transports = create_transports(ep, s)
            self.ports = dict(transports.ports)
            if "udp" in self.ports:
                self._pace.wake_through(s.listen_host, self.ports["udp"])
            ep.libStart()
            # The null device is the media clock; the agent's audio is the engine's
            # own (a PortAudio headset port or a station leg), never pjsua's devices.
            ep.audDevManager().setNullDev()
            measured = call_capacity(ep, s.listen_host if "udp" in self.ports else None)
            self.capacity_measured = measured is not None
            self.max_calls = measured if measured else 4
            self.library = report_at_start(
                ep, self.max_calls, measured=self.capacity_measured, clock_rate=self.clock_rate
            )
            if s.queue_capacity > self.queue_capacity:
                log.warning(
                    "sip.queue_capacity %d is more than this library's %d call slots allow: "
                    "%d calls are held at once (the hardened library has 32: make library)",
                    s.queue_capacity,
                    self.max_calls,
                    self.queue_capacity,
                )
            rate = self.clock_rate
            source = MediaSource(s.audio_source, clock_rate=rate)
            self.audio = AgentAudio(s.audio, source, self.audio_path.changed, clock_rate=rate)
            self.audio.start()
            self.recordings.follow(self.audio)
            self.monitors.follow(self.audio)
            ep.engine = self
            account = PjAccount(self)
            account.create(account_config(s, transports), True)
            self.account = account
            self.registration.started()
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
        # Answers are due only to what this teardown sends (BYEs, refusals, un-REGISTER).
        answers_due = bool(self.pj_calls or self.monitors.legs or self.station.live) or (
            self.registration.fact.get("state") == "registered"
        )
        self.monitors.end_all()
        self._hang_up_all()
        self.station.disconnect()
        deadline = time.monotonic() + DRAIN_SECONDS
        while (self.pj_calls or self.station.live) and time.monotonic() < deadline:
            ep.libHandleEvents(10)
        self.registration.unregister(ep)
        while not self._commands.empty():
            message, reply = self._commands.get_nowait()
            reply(reply_error(message.get("id"), ErrorCode.SHUTTING_DOWN, "engine stopped"))
        self._destroy_library(answers_due=answers_due)

    def _hang_up_all(self) -> None:
        # Its own frame on purpose: a loop variable left holding a Call in
        # _teardown would outlive libDestroy() and assert in ~Call.
        for rid, call in list(self.pj_calls.items()):
            record = self.calls.get(rid)
            if record is not None and record.ended_locally_by is None:
                record.ended_locally_by = EndedBy.ENGINE
            hang_up(call, 503 if record and record.state == CallState.RINGING else 200)

    def _destroy_library(self, *, answers_due: bool = False) -> None:
        ep = self.endpoint
        if ep is None:
            return
        if self.audio is not None:
            self.audio.close()
            self.audio = None
        self.control.close_captures()
        self.recordings.close()
        self.monitors.close()
        self.codecs = None
        # Every Call goes before libDestroy(): one destroyed after it asserts.
        self.station.call = None
        self.pj_calls.clear()
        self.book.orphans.clear()
        if self.account is not None:
            with contextlib.suppress(pj.Error):
                self.account.shutdown()
            self.account = None
        ep.engine = None
        self._pace.close()
        gc.collect()
        destroy_endpoint(ep, answers_due=answers_due)
        self.endpoint = None

    def reconcile(self) -> None:
        """End every record whose library call is gone: none stays ringing or connecting."""
        for record in self.book.lost():
            self.control.finish(record, 0, "the phone library lost this call")

    def defer(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` on the engine thread after ``delay`` seconds, outside callbacks."""
        self._deferred.add(delay, action)

    def _poll_ms(self) -> int:
        """How long the next ``libHandleEvents`` may wait (see :mod:`sip.loop_pace`)."""
        return self._pace.wait_ms(
            calls_up=bool(self.calls),
            commands_waiting=not self._commands.empty(),
            due_in=self._deferred.due_in(),
        )

    def _end_turn(self) -> None:
        self.book.ended_this_turn.clear()

    # ------------------------------------------------------------------ events
    def emit(self, event: Event, **payload: Any) -> None:
        """Push one event to every client."""
        self._seq += 1
        message = {"type": "event", "event": str(event), "seq": self._seq, "time": utc_now_iso()}
        message.update(payload)
        self._emit_sink(message)
        self.recordings.observe(event, payload)
        self.monitors.observe(event, payload)

    def snapshot(self) -> list[dict[str, Any]]:
        """Every live call as protocol objects (for hello/status)."""
        return [record.snapshot() for record in self.calls.values()]

    def status(self) -> dict[str, Any]:
        """Engine facts and every live call."""
        return {
            **self._facts(),
            "availability": self.intake.availability_fact(),
            "registration": dict(self.registration.fact),
            "calls": self.snapshot(),
            "monitors": self.monitors.facts(),
        }

    def _facts(self) -> dict[str, Any]:
        # What both the ready event and status report, so the two never disagree.
        return {
            "protocol": PROTOCOL_VERSION,
            "listen": self._listen_text(),
            "transports": dict(self.ports),
            "max_calls": self.max_calls,
            "capacity_measured": self.capacity_measured,
            "queue_capacity": self.queue_capacity,
            "audio": self.audio_path.fact(),
            "codecs": self.codec_labels(),
            "library": dict(self.library),
        }

    def codec_labels(self) -> list[str]:
        """The codecs calls may use, in order, as the library has them enabled."""
        return [codec.label for codec in enabled_codecs(self.endpoint)] if self.endpoint else []

    # --------------------------------------------------------- library callbacks
    def on_reg_state(self, code: int, reason: str, expiration: int) -> None:
        """Registration progressed (REGISTER answered, failed, or refreshed)."""
        self.registration.on_reg_state(code, reason, expiration)

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
        if not self.monitors.on_library_rejected(status, raw):
            self.intake.on_library_rejected(status, reason, raw, self.codecs)

    def on_incoming(self, account: PjAccount, pj_call_id: int, raw: str) -> None:
        """A new INVITE: ring, turn away, or auto-answer (a monitor request: sip.monitor)."""
        if not self.monitors.on_invite(account, pj_call_id, raw):
            self.intake.on_incoming(account, pj_call_id, raw)

    def on_call_state(self, call: PjCall) -> None:
        """A call's INVITE session changed state."""
        # A new INVITE's SDP is made once its media transport is ready, which
        # can be after onIncomingCall; its first state change comes after that.
        self.restore_codecs()
        if call.rid == STATION_RID:
            self.station.on_call_state(call)
        elif is_monitor(call.rid):
            self.monitors.on_call_state(call)
        else:
            self.control.on_call_state(call)

    def on_media_state(self, call: PjCall) -> None:
        """Media changed: the agent's audio, remote hold, a blind transfer's REFER."""
        if call.rid == STATION_RID:
            self.station.on_media_state(call)
        elif is_monitor(call.rid):
            self.monitors.on_media_state(call)
        elif self.control.on_media_state(call):
            self.transfers.on_held(call.rid)

    def on_reinvite_failed(self, call: PjCall, status: int, reason: str) -> None:
        """The far end refused one of our re-INVITEs."""
        self.hold.on_reinvite_failed(call, status, reason)

    def on_dtmf(self, call: PjCall, digit: str, method: str) -> None:
        """A digit arrived from the remote party (a supervisor's switches their mode)."""
        if not self.monitors.on_dtmf(call, digit):
            self.control.on_dtmf(call, digit, method)

    def on_transfer_status(self, call: PjCall, code: int, reason: str, final: bool) -> bool:
        """NOTIFY progress of a REFER we sent; returns whether to keep following."""
        return self.transfers.on_transfer_status(call, code, reason, final)

    def on_transfer_request(self, call: PjCall, target: str) -> tuple[int, PjCall | None]:
        """The remote party sent us a REFER."""
        return self.transfers.on_transfer_request(call, target)

    def on_replaced(self, call: PjCall, new_pj_id: int) -> PjCall:
        """An INVITE with Replaces took over one of our calls."""
        return self.control.on_replaced(call, new_pj_id)

    def _callbacks(self) -> EngineCallbacks:
        """What each library call reports to (this engine)."""
        return self

    def hangup_pj(self, call: PjCall, code: int) -> None:
        """Hang up (or decline with ``code``) without raising (for the station leg)."""
        hang_up(call, code)

    # ----------------------------------------------------------------- commands
    def _drain_commands(self) -> None:
        # Most turns (every RTP packet wakes the loop) find no command: ask cheaply first.
        while not self._commands.empty():
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
        handler = self.handlers.get(command)
        if handler is None:
            raise CommandError(ErrorCode.UNKNOWN_COMMAND, f"unknown command {command!r}")
        return handler(message)
