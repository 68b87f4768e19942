"""The phone engine: one thread owns pjsua2 and everything it creates.

:class:`PhoneEngine` is driven by :meth:`PhoneEngine.run`, which must be
called on the thread that will own the library (the engine process's main
thread). Other threads talk to it only through :meth:`PhoneEngine.submit`
(a thread-safe command queue, the aiosqlite model) and receive plain dict
events and replies through callables. No pjsua2 object ever leaves this
module.
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
from dataclasses import dataclass, field
from typing import Any

import pjsua2 as pj

from sip.protocol import (
    PROTOCOL_VERSION,
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
from sip.settings import EngineSettings
from sip.sipmsg import caller_of, parse_headers, request_uri

log = logging.getLogger(__name__)

Sink = Callable[[dict[str, Any]], None]
"""Where events or a reply go; must be thread-safe and must not block."""

POLL_MS = 5
"""How long one ``libHandleEvents`` call may wait; bounds command latency."""
DRAIN_SECONDS = 2.0
"""How long teardown waits for hung-up calls to reach DISCONNECTED."""

_PJ_STATE = {
    pj.PJSIP_INV_STATE_INCOMING: CallState.RINGING,
    pj.PJSIP_INV_STATE_EARLY: CallState.RINGING,
    pj.PJSIP_INV_STATE_CONNECTING: CallState.CONNECTING,
    pj.PJSIP_INV_STATE_CONFIRMED: CallState.ACTIVE,
    pj.PJSIP_INV_STATE_DISCONNECTED: CallState.ENDED,
}


class EngineStartError(RuntimeError):
    """The engine could not start (e.g. the SIP port is taken)."""


def _guarded(callback: Callable[..., None]) -> Callable[..., None]:
    """Keep Python exceptions from unwinding into pjsip's C++ (which aborts)."""

    def wrapper(*args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            log.exception("engine callback %s failed", callback.__name__)

    wrapper.__name__ = callback.__name__
    return wrapper


@dataclass
class _CallRecord:
    """What the engine knows about one call, as plain values."""

    id: str
    direction: str
    caller_name: str
    caller_number: str
    caller_uri: str
    called_uri: str
    received_at: str
    state: CallState = CallState.RINGING
    answered_at: str | None = None
    ended_at: str | None = None
    ended_locally_by: EndedBy | None = None
    reject_code: int | None = None
    sip_call_id: str = ""
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        """The call as a protocol object."""
        return {
            "id": self.id,
            "direction": self.direction,
            "state": str(self.state),
            "caller": {
                "display_name": self.caller_name,
                "number": self.caller_number,
                "uri": self.caller_uri,
            },
            "called_uri": self.called_uri,
            "received_at": self.received_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "timeline": list(self.timeline),
        }

    def mark(self, fact: str, **details: Any) -> None:
        """Append a timestamped fact to the call's timeline."""
        self.timeline.append({"at": utc_now_iso(), "fact": fact, **details})


class _Call(pj.Call):  # type: ignore[misc]
    """pjsua2 call whose callbacks forward to the engine by call id."""

    def __init__(self, engine: PhoneEngine, account: pj.Account, pj_call_id: int, rid: str):
        super().__init__(account, pj_call_id)
        self._engine = engine
        self.rid = rid

    @_guarded
    def onCallState(self, _prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        self._engine._on_call_state(self)


class _Account(pj.Account):  # type: ignore[misc]
    """The agent's local account; incoming calls become :class:`_Call` objects."""

    def __init__(self, engine: PhoneEngine):
        super().__init__()
        self._engine = engine

    @_guarded
    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        self._engine._on_incoming(self, prm.callId, prm.rdata.wholeMsg)


class PhoneEngine:
    """A SIP user agent for one agent, driven through plain-dict commands."""

    def __init__(self, settings: EngineSettings, emit: Sink) -> None:
        self.settings = settings
        self._emit_sink = emit
        self._commands: queue.SimpleQueue[tuple[dict[str, Any], Sink]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._seq = 0
        self._calls: dict[str, _CallRecord] = {}
        self._pj_calls: dict[str, _Call] = {}
        self._graveyard: list[_Call] = []
        self._deferred: list[Callable[[], None]] = []
        self._endpoint: pj.Endpoint | None = None
        self._account: _Account | None = None
        self.bound_port: int = 0
        self.max_calls = 4
        self._owner: threading.Thread | None = None

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
        self._owner = threading.current_thread()
        self._start()
        try:
            log.info("engine listening on %s:%d/udp", self.settings.listen_host, self.bound_port)
            if on_ready is not None:
                on_ready()
            self._emit(
                Event.READY,
                listen=f"{self.settings.listen_host}:{self.bound_port}",
                transport="udp",
                max_calls=self.max_calls,
                protocol=PROTOCOL_VERSION,
            )
            assert self._endpoint is not None
            next_check = time.monotonic() + 1
            while not self._stop.is_set():
                self._endpoint.libHandleEvents(POLL_MS)
                self._run_deferred()
                self._drain_commands()
                self._bury()
                if orphaned is not None and time.monotonic() >= next_check:
                    next_check = time.monotonic() + 1
                    if not self._calls and orphaned():
                        log.info("no client and no call: engine exits")
                        self._stop.set()
        finally:
            self._teardown()

    def _start(self) -> None:
        s = self.settings
        ep = pj.Endpoint()
        ep.libCreate()
        self._endpoint = ep
        try:
            cfg = pj.EpConfig()
            cfg.uaConfig.threadCnt = 0
            cfg.uaConfig.mainThreadOnly = True
            cfg.uaConfig.maxCalls = self.max_calls
            cfg.uaConfig.userAgent = s.user_agent
            cfg.logConfig.consoleLevel = 0
            cfg.logConfig.level = s.log_level
            cfg.logConfig.msgLogging = s.log_sip_messages
            if s.log_path is not None:
                cfg.logConfig.filename = str(s.log_path)
            ep.libInit(cfg)
            tcfg = pj.TransportConfig()
            tcfg.boundAddress = s.listen_host
            tcfg.port = s.listen_port
            tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
            self.bound_port = int(ep.transportGetInfo(tid).localName.rsplit(":", 1)[1])
            ep.libStart()
            # No sound device is compiled in: the null device is the media clock.
            ep.audDevManager().setNullDev()
            acfg = pj.AccountConfig()
            acfg.idUri = f"sip:agent@{s.listen_host}:{self.bound_port}"
            acfg.mediaConfig.transportConfig.boundAddress = s.listen_host
            acfg.mediaConfig.transportConfig.port = 0
            account = _Account(self)
            account.create(acfg, True)
            self._account = account
        except pj.Error as exc:
            self._destroy_library()
            raise EngineStartError(
                f"cannot listen for SIP on {s.listen_host}:{s.listen_port}/udp: {exc.reason}"
            ) from None

    def _teardown(self) -> None:
        """Hang up, let events drain, drop pjsua2 objects, then destroy the library.

        The order is what keeps pjsip from asserting at exit (DESIGN.md).
        """
        self._emit(Event.STOPPING)
        ep = self._endpoint
        if ep is None:
            return
        self._hang_up_all()
        deadline = time.monotonic() + DRAIN_SECONDS
        while self._pj_calls and time.monotonic() < deadline:
            ep.libHandleEvents(10)
        while not self._commands.empty():
            message, reply = self._commands.get_nowait()
            reply(reply_error(message.get("id"), ErrorCode.SHUTTING_DOWN, "engine stopped"))
        self._destroy_library()

    def _hang_up_all(self) -> None:
        # Its own frame on purpose: a loop variable left holding a Call in
        # _teardown would outlive libDestroy() and assert in ~Call.
        for rid, call in list(self._pj_calls.items()):
            record = self._calls[rid]
            if record.ended_locally_by is None:
                record.ended_locally_by = EndedBy.ENGINE
            self._hangup_pj(call, 503 if record.state == CallState.RINGING else 200)

    def _destroy_library(self) -> None:
        ep = self._endpoint
        if ep is None:
            return
        self._graveyard.extend(self._pj_calls.values())
        self._pj_calls.clear()
        self._graveyard.clear()
        if self._account is not None:
            with contextlib.suppress(pj.Error):
                self._account.shutdown()
            self._account = None
        gc.collect()
        ep.libDestroy()
        self._endpoint = None

    def _run_deferred(self) -> None:
        while self._deferred:
            self._deferred.pop(0)()

    def _bury(self) -> None:
        # A Call is deleted outside its own callbacks, on the owning thread.
        if self._graveyard:
            self._graveyard.clear()
            gc.collect()

    # ------------------------------------------------------------------ events
    def _emit(self, event: Event, **payload: Any) -> None:
        self._seq += 1
        message = {"type": "event", "event": str(event), "seq": self._seq, "time": utc_now_iso()}
        message.update(payload)
        self._emit_sink(message)

    def snapshot(self) -> list[dict[str, Any]]:
        """Every live call as protocol objects (for hello/status)."""
        return [record.snapshot() for record in self._calls.values()]

    def _on_incoming(self, account: _Account, pj_call_id: int, raw: str) -> None:
        rid = str(uuid.uuid4())
        call = _Call(self, account, pj_call_id, rid)
        party = caller_of(raw)
        headers = parse_headers(raw)
        record = _CallRecord(
            id=rid,
            direction="inbound",
            caller_name=party.display_name,
            caller_number=party.number,
            caller_uri=party.uri,
            called_uri=request_uri(raw),
            received_at=utc_now_iso(),
            sip_call_id=headers.get("call-id", [""])[0],
        )
        record.mark("ring")
        self._calls[rid] = record
        self._pj_calls[rid] = call
        self._emit(Event.CALL_INCOMING, call=record.snapshot())
        try:
            prm = pj.CallOpParam()
            prm.statusCode = 180
            call.answer(prm)
        except pj.Error as exc:
            log.warning("could not send 180 for call %s: %s", rid, exc.reason)
        if self.settings.auto_answer is not None:
            code = self.settings.auto_answer
            self._deferred.append(lambda: self._auto_answer(rid, code))

    def _auto_answer(self, rid: str, code: int) -> None:
        record = self._calls.get(rid)
        if record is None or record.state != CallState.RINGING:
            return
        try:
            if code < 300:
                self._answer(record)
            else:
                self._reject(record, code)
        except CommandError as exc:
            log.warning("auto-answer of %s failed: %s", rid, exc)

    def _on_call_state(self, call: _Call) -> None:
        record = self._calls.get(call.rid)
        if record is None:
            return
        info = call.getInfo()
        state = _PJ_STATE.get(info.state)
        if state is None or state == record.state and state != CallState.ENDED:
            return
        if state == CallState.ENDED:
            self._finish(record, int(info.lastStatusCode), str(info.lastReason))
            return
        record.state = state
        if state == CallState.ACTIVE and record.answered_at is None:
            record.answered_at = utc_now_iso()
            record.mark("answer")
        self._emit(
            Event.CALL_STATE,
            call_id=record.id,
            state=str(state),
            sip_status=int(info.lastStatusCode),
        )

    def _finish(self, record: _CallRecord, status: int, reason: str) -> None:
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
        elif not answered and status == 487:
            ended_by, why = EndedBy.CALLER, EndReason.CANCELLED
        else:
            ended_by, why = EndedBy.NETWORK, EndReason.FAILED
        if record.reject_code is not None:
            status = record.reject_code
        record.state = CallState.ENDED
        record.ended_at = utc_now_iso()
        record.mark("end", reason=str(why), ended_by=str(ended_by), sip_status=status)
        self._emit(
            Event.CALL_STATE, call_id=record.id, state=str(CallState.ENDED), sip_status=status
        )
        self._emit(
            Event.CALL_ENDED,
            call_id=record.id,
            reason=str(why),
            ended_by=str(ended_by),
            sip_status=status,
            sip_reason=reason[:200],
            call=record.snapshot(),
        )
        del self._calls[record.id]
        pj_call = self._pj_calls.pop(record.id, None)
        if pj_call is not None:
            self._graveyard.append(pj_call)

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
        record = self._record(message)
        if command == Command.ANSWER:
            self._answer(record)
        elif command == Command.REJECT:
            code = message.get("code", 486)
            if not isinstance(code, int) or code not in (480, 486, 600, 603):
                raise CommandError(
                    ErrorCode.BAD_REQUEST, "reject code must be 480, 486, 600 or 603"
                )
            self._reject(record, code)
        elif command == Command.HANGUP:
            if record.state == CallState.RINGING:
                self._reject(record, 603)
            else:
                record.ended_locally_by = EndedBy.AGENT
                self._hangup_pj(self._pj_calls[record.id], 200)
        return {"call_id": record.id}

    def status(self) -> dict[str, Any]:
        """Engine facts and every live call."""
        return {
            "protocol": PROTOCOL_VERSION,
            "listen": f"{self.settings.listen_host}:{self.bound_port}",
            "max_calls": self.max_calls,
            "calls": self.snapshot(),
        }

    def _record(self, message: dict[str, Any]) -> _CallRecord:
        call_id = message.get("call")
        if not isinstance(call_id, str):
            raise CommandError(ErrorCode.BAD_REQUEST, "this command needs a 'call' id")
        record = self._calls.get(call_id)
        if record is None:
            raise CommandError(ErrorCode.NO_SUCH_CALL, f"no live call {call_id}")
        return record

    def _answer(self, record: _CallRecord) -> None:
        if record.state != CallState.RINGING:
            raise CommandError(ErrorCode.INVALID_STATE, f"call is {record.state}, not ringing")
        prm = pj.CallOpParam()
        prm.statusCode = 200
        self._pj_calls[record.id].answer(prm)

    def _reject(self, record: _CallRecord, code: int) -> None:
        if record.state != CallState.RINGING:
            raise CommandError(ErrorCode.INVALID_STATE, f"call is {record.state}, not ringing")
        record.ended_locally_by = EndedBy.AGENT
        record.reject_code = code
        self._hangup_pj(self._pj_calls[record.id], code)

    def _hangup_pj(self, call: _Call, code: int) -> None:
        prm = pj.CallOpParam()
        prm.statusCode = code
        try:
            call.hangup(prm)
        except pj.Error as exc:
            log.warning("hangup failed: %s", exc.reason)
