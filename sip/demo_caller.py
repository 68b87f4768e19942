# SPDX-License-Identifier: GPL-2.0-or-later
"""The demo caller: synthetic patients calling the agent, with audio.

A small pjsua2 user agent on 127.0.0.1 that calls the target on several
lines at once (``--lines``): each call rings until answered (or gives up
after ``--ring-timeout``), plays a generated voice-band tone pattern into the
call, and hangs up after a while if the agent has not. It also plays two
transfer targets on its own address: ``sip:nurse@…`` answers, and
``sip:billing@…`` is busy; a patient that is transferred follows the REFER.
It exits on SIGTERM/SIGINT or when the process that started it goes away.
Run ``python -m sip.demo_caller --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import math
import os
import re
import signal
import struct
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import pjsua2 as pj

from sip.library import destroy_endpoint
from sip.server import NativeOutput
from sip.sipmsg import request_uri

SAMPLE_RATE = 8000


VOICE = ((440.0, 0.35), (0.0, 0.15), (554.0, 0.25), (660.0, 0.3), (0.0, 0.6))
"""A patient talking: a speech-like run of rising tones (Hz, seconds; 0 Hz is silence)."""
STRANGER = ((349.0, 0.5), (0.0, 0.2), (262.0, 0.9), (0.0, 1.4))
"""Whoever answers a wrong number: a low, falling "uh-uh" and a long silence, in tones
none of :data:`VOICE` uses, so the agent hears at once it is not the patient."""


def write_voice_wav(
    path: Path, seconds: float = 6.0, pattern: tuple[tuple[float, float], ...] = VOICE
) -> None:
    """``pattern`` repeated for ``seconds`` (8 kHz, 16-bit mono), so the call is audibly
    live."""
    frames = bytearray()
    t = 0.0
    while t < seconds:
        for freq, length in pattern:
            for n in range(int(length * SAMPLE_RATE)):
                value = 0.3 * math.sin(2 * math.pi * freq * n / SAMPLE_RATE) if freq else 0.0
                frames += struct.pack("<h", int(value * 32767))
            t += length
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(frames))


def die_with_parent() -> None:
    """Ask the kernel for SIGTERM when the process that started us exits.

    Checking ``getppid()`` alone is not enough: a parent that was killed but
    not yet reaped keeps its pid.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class _Voice:
    """The audio players (a patient's, a stranger's), held here (not by calls) so
    teardown can drop them.

    A call handed to pjsua2 (``prm.newCall``) may outlive our references until
    libDestroy; it must not keep a player alive past that (pjmedia asserts).
    """

    def __init__(self, player: pj.AudioMediaPlayer, stranger: pj.AudioMediaPlayer) -> None:
        self.player: pj.AudioMediaPlayer | None = player
        self.stranger: pj.AudioMediaPlayer | None = stranger


class _DemoCall(pj.Call):  # type: ignore[misc]
    """A demo call (placed by a patient line, or received by a demo target)."""

    def __init__(self, account: pj.Account, voice: _Voice, call_id: int = -1) -> None:
        super().__init__(account, call_id)
        self.account = account
        self.voice = voice
        self.state = pj.PJSIP_INV_STATE_NULL
        self.answered_at: float | None = None
        self.started = time.monotonic()
        self.transferred_to: _DemoCall | None = None
        self.stranger = False
        """Answered by someone who is not the patient (a wrong number): their sound."""

    def onCallState(self, _prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        try:
            self.state = self.getInfo().state
            if self.state == pj.PJSIP_INV_STATE_CONFIRMED and self.answered_at is None:
                self.answered_at = time.monotonic()
        except pj.Error:
            pass

    def onCallMediaState(self, _prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        try:
            info = self.getInfo()
            player = self.voice.stranger if self.stranger else self.voice.player
            for index, media in enumerate(info.media):
                if (
                    media.type == pj.PJMEDIA_TYPE_AUDIO
                    and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE
                ) and player is not None:
                    player.startTransmit(self.getAudioMedia(index))
        except pj.Error:
            pass

    def onCallTransferRequest(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        # The patient follows the agent's transfer, as a real phone would.
        self.transferred_to = _DemoCall(self.account, self.voice)
        prm.newCall = self.transferred_to

    def onCallReplaced(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        # An attended transfer: the patient's INVITE/Replaces takes over this
        # target call. Python must own the new call so it dies before libDestroy.
        self.transferred_to = _DemoCall(self.account, self.voice, prm.newCallId)
        prm.newCall = self.transferred_to


RINGS_ONLY = "no_answer"
"""An answerer that rings until the console gives up (``--answerers``)."""
WRONG_NUMBER = "wrong_number"
"""An answerer that answers as someone else: :data:`STRANGER`'s sound, not the patient's."""


class _Targets(pj.Account):  # type: ignore[misc]
    """Demo transfer targets on the same address: ``nurse`` answers, ``billing`` is busy;
    and the worklist's patients by number (``answerers``: number → ``answer``, ``busy``,
    ``no_answer`` or ``wrong_number``, which answers too but sounds like nobody on the
    list: :data:`STRANGER`, so the agent hears it is not them)."""

    def __init__(self, voice: _Voice, answerers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.voice = voice
        self.answerers = answerers or {}
        self.calls: list[_DemoCall] = []
        self.pending: list[tuple[float, _DemoCall, int]] = []

    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        try:
            call = _DemoCall(self, self.voice, prm.callId)
            user = request_uri(str(prm.rdata.wholeMsg)).split("@", 1)[0].removeprefix("sip:")
            self.calls.append(call)
            ringing = pj.CallOpParam()
            ringing.statusCode = 180
            call.answer(ringing)
            answers = self.answerers.get(user, "busy" if user.startswith("billing") else "answer")
            call.stranger = answers == WRONG_NUMBER
            if answers == RINGS_ONLY:
                return  # rings until the caller cancels (its ring timeout)
            code = 486 if answers == "busy" else 200
            self.pending.append((time.monotonic() + (0.2 if code == 486 else 1.5), call, code))
        except pj.Error:
            pass

    def tick(self) -> None:
        """Answer or refuse due calls; hang up targets that talked long enough; drop ended ones."""
        now = time.monotonic()
        for due, call, code in list(self.pending):
            if due <= now:
                self.pending.remove((due, call, code))
                prm = pj.CallOpParam()
                prm.statusCode = code
                try:
                    if code == 200:
                        call.answer(prm)
                    else:
                        call.hangup(prm)
                except pj.Error:
                    pass
        for call in list(self.calls):
            if call.answered_at is not None and now - call.answered_at > 60 and call.isActive():
                with contextlib.suppress(pj.Error):
                    call.hangup(pj.CallOpParam())
            if call.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.calls.remove(call)
                if call.transferred_to is not None:
                    self.calls.append(call.transferred_to)


class _Line:
    """One patient line: calls, waits for the end, pauses, calls again."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.call: _DemoCall | None = None
        self.next_start = time.monotonic() + index * 6.0  # stagger the lines


class DemoCaller:
    """Places calls to the agent on several lines at once, and plays transfer targets."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stop = False
        self.parent = os.getppid()
        self.turn = 0
        self.queues: list[str] = []
        """Per caller account: the queue it calls (empty: the --target user)."""

    def _alive(self) -> bool:
        return not self.stop and os.getppid() == self.parent

    def run(self) -> int:
        """Call, wait, repeat until stopped; tears pjsua2 down in order."""
        args = self.args
        host, port = args.listen.rsplit(":", 1)
        callers = json.loads(args.callers)
        ep = pj.Endpoint()
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.userAgent = "careline-demo-caller"
        cfg.logConfig.consoleLevel = 0
        cfg.logConfig.level = 2
        cfg.logConfig.filename = args.log
        ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.boundAddress = host
        tcfg.port = int(port)
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        ep.libStart()
        ep.audDevManager().setNullDev()
        workdir = Path(tempfile.mkdtemp(prefix="careline-demo-"))
        wav, stranger_wav = workdir / "voice.wav", workdir / "stranger.wav"
        write_voice_wav(wav)
        write_voice_wav(stranger_wav, pattern=STRANGER)
        player, stranger = pj.AudioMediaPlayer(), pj.AudioMediaPlayer()
        player.createPlayer(str(wav), 0)
        stranger.createPlayer(str(stranger_wav), 0)
        voice = _Voice(player, stranger)
        del player, stranger
        answerers = {str(a["number"]): str(a["answers"]) for a in json.loads(args.answerers)}
        targets = _Targets(voice, answerers)
        tacfg = pj.AccountConfig()
        tacfg.idUri = f"sip:targets@{host}:{port}"
        tacfg.mediaConfig.transportConfig.boundAddress = host
        targets.create(tacfg, True)  # default account: takes the demo transfer targets
        accounts = []
        for caller in callers:
            acfg = pj.AccountConfig()
            name = caller["name"].replace('"', "")
            acfg.idUri = (
                f'"{name}" <sip:{caller["number"]}@{host}:{port}>'
                if name
                else f"sip:{caller['number']}@{host}:{port}"
            )
            acfg.mediaConfig.transportConfig.boundAddress = host
            acc = pj.Account()
            acc.create(acfg)
            accounts.append(acc)
            self.queues.append(str(caller.get("queue") or ""))
        lines = [_Line(i) for i in range(args.lines)] if accounts else []
        try:
            while self._alive():
                ep.libHandleEvents(20)
                targets.tick()
                for line in lines:
                    self._step(line, accounts, voice)
            for line in lines:
                self._end(line)
            targets.pending.clear()
            for call in targets.calls:
                if call.isActive():
                    with contextlib.suppress(pj.Error):
                        call.hangup(pj.CallOpParam())
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and (
                any(line.call and line.call.isActive() for line in lines)
                or any(call.isActive() for call in targets.calls)
            ):
                ep.libHandleEvents(20)
        finally:
            # A call still up is hung up by the library, which then waits for its answer.
            answers_due = any(line.call and line.call.isActive() for line in lines) or any(
                call.isActive() for call in targets.calls
            )
            # Calls before accounts, everything before libDestroy (DESIGN.md).
            for line in lines:
                line.call = None
            targets.calls.clear()
            targets.pending.clear()
            voice.player = voice.stranger = None
            gc.collect()
            for acc in accounts:
                acc.shutdown()
            accounts.clear()
            targets.shutdown()
            del targets
            gc.collect()
            destroy_endpoint(ep, answers_due=answers_due)
            wav.unlink(missing_ok=True)
            stranger_wav.unlink(missing_ok=True)
            workdir.rmdir()
        return 0

    def _step(self, line: _Line, accounts: list[pj.Account], voice: _Voice) -> None:
        now = time.monotonic()
        call = line.call
        if call is None:
            if now < line.next_start:
                return
            index = self.turn % len(accounts)
            account = accounts[index]
            self.turn += 1
            call = _DemoCall(account, voice)
            target = self.args.target
            if self.queues[index]:
                # The caller's queue is the called user: the console picks its script.
                target = re.sub(r"^sip:[^@]*@", f"sip:{self.queues[index]}@", target)
            try:
                call.makeCall(target, pj.CallOpParam(True))
            except pj.Error:
                # The agent is offline (engine restarting): try again a little later.
                line.next_start = now + 2.0
                return
            line.call = call
            return
        if call.transferred_to is not None and call.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            line.call = call.transferred_to  # the patient is now with the transfer target
            return
        if call.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            line.call = None  # deleted here, on this thread, outside its callbacks
            line.next_start = now + self.args.interval
            return
        unanswered = call.answered_at is None and now - call.started > self.args.ring_timeout
        talked_enough = call.answered_at is not None and now - call.answered_at > self.args.talk
        if unanswered or talked_enough:
            self._end(line)

    @staticmethod
    def _end(line: _Line) -> None:
        if line.call is not None and line.call.isActive():
            with contextlib.suppress(pj.Error):
                line.call.hangup(pj.CallOpParam())


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m sip.demo_caller``."""
    parser = argparse.ArgumentParser(prog="careline-demo-caller", description=__doc__)
    parser.add_argument(
        "--target", default="", help="SIP URI to call, e.g. sip:queue@127.0.0.1:5070"
    )
    parser.add_argument("--listen", default="127.0.0.1:0", help="our SIP UDP address HOST:PORT")
    parser.add_argument(
        "--callers",
        default="[]",
        help='JSON list of {"name": …, "number": …, "queue": … (optional: the called user)}',
    )
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between calls")
    parser.add_argument(
        "--ring-timeout", type=float, default=45.0, help="give up after SECONDS ringing"
    )
    parser.add_argument("--talk", type=float, default=120.0, help="hang up after SECONDS talking")
    parser.add_argument(
        "--lines",
        type=int,
        default=2,
        help="patients calling at the same time (0: only play transfer targets)",
    )
    parser.add_argument(
        "--answerers",
        default="[]",
        help='JSON list of {"number": E.164, "answers": answer|busy|no_answer|wrong_number}: '
        "how the numbers a worklist dials (sip:NUMBER@our address) answer",
    )
    parser.add_argument("--log", default=os.devnull, help="log file")
    parser.add_argument(
        "--start-delay",
        type=float,
        default=0.0,
        help="wait SECONDS before starting (lets the console paint first)",
    )
    args = parser.parse_args(argv)
    NativeOutput(Path(args.log) if args.log != os.devnull else None)
    caller = DemoCaller(args)  # remembers the parent before anything can outlive it
    die_with_parent()

    def _stop(*_: object) -> None:
        caller.stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    deadline = time.monotonic() + args.start_delay
    while time.monotonic() < deadline and not caller.stop:
        time.sleep(0.05)
    return 0 if caller.stop else caller.run()


if __name__ == "__main__":
    sys.exit(main())
