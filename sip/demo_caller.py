"""The demo caller: synthetic patients calling the agent, with audio.

A small pjsua2 user agent on 127.0.0.1 that calls the target one caller at a
time: it rings until answered (or gives up after ``--ring-timeout``), plays
a generated voice-band tone pattern into the call, and hangs up after a
while if the agent has not. It exits on SIGTERM/SIGINT or when the process
that started it goes away. Run ``python -m sip.demo_caller --help``.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import math
import os
import signal
import struct
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import pjsua2 as pj

from sip.server import NativeOutput

SAMPLE_RATE = 8000


def write_voice_wav(path: Path, seconds: float = 6.0) -> None:
    """A speech-like pattern of tones (8 kHz, 16-bit mono), so the call is audibly live."""
    pattern = [(440.0, 0.35), (0.0, 0.15), (554.0, 0.25), (660.0, 0.3), (0.0, 0.6)]
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


class _DemoCall(pj.Call):  # type: ignore[misc]
    def __init__(self, account: pj.Account, player: pj.AudioMediaPlayer) -> None:
        super().__init__(account)
        self.player = player
        self.state = pj.PJSIP_INV_STATE_NULL
        self.answered_at: float | None = None

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
            for index, media in enumerate(info.media):
                if (
                    media.type == pj.PJMEDIA_TYPE_AUDIO
                    and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE
                ):
                    self.player.startTransmit(self.getAudioMedia(index))
        except pj.Error:
            pass


class DemoCaller:
    """Places one call after another to the agent."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stop = False
        self.parent = os.getppid()

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
        cfg.logConfig.level = 3
        cfg.logConfig.filename = args.log
        ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.boundAddress = host
        tcfg.port = int(port)
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        ep.libStart()
        ep.audDevManager().setNullDev()
        workdir = Path(tempfile.mkdtemp(prefix="careline-demo-"))
        wav = workdir / "voice.wav"
        write_voice_wav(wav)
        player = pj.AudioMediaPlayer()
        player.createPlayer(str(wav), 0)
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
        try:
            index = 0
            while self._alive():
                self._one_call(ep, accounts[index % len(accounts)], player)
                index += 1
                self._pump(ep, args.interval)
        finally:
            gc.collect()
            del player
            for acc in accounts:
                acc.shutdown()
            accounts.clear()
            gc.collect()
            ep.libDestroy()
            wav.unlink(missing_ok=True)
            workdir.rmdir()
        return 0

    def _pump(self, ep: pj.Endpoint, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self._alive() and time.monotonic() < deadline:
            ep.libHandleEvents(20)

    def _one_call(self, ep: pj.Endpoint, account: pj.Account, player: pj.AudioMediaPlayer) -> None:
        call = _DemoCall(account, player)
        prm = pj.CallOpParam(True)
        try:
            call.makeCall(self.args.target, prm)
        except pj.Error:
            # The agent is offline (engine restarting): try again later.
            del call
            gc.collect()
            self._pump(ep, 2.0)
            return
        started = time.monotonic()
        while call.state != pj.PJSIP_INV_STATE_DISCONNECTED:
            ep.libHandleEvents(20)
            now = time.monotonic()
            unanswered = call.answered_at is None and now - started > self.args.ring_timeout
            talked_enough = call.answered_at is not None and now - call.answered_at > self.args.talk
            if not self._alive() or unanswered or talked_enough:
                try:
                    call.hangup(pj.CallOpParam())
                except pj.Error:
                    break
                self._drain(ep, call)
                break
        # Delete the call on this thread, outside its callbacks, before anything else.
        del call
        gc.collect()

    @staticmethod
    def _drain(ep: pj.Endpoint, call: _DemoCall) -> None:
        deadline = time.monotonic() + 3
        while call.state != pj.PJSIP_INV_STATE_DISCONNECTED and time.monotonic() < deadline:
            ep.libHandleEvents(20)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m sip.demo_caller``."""
    parser = argparse.ArgumentParser(prog="careline-demo-caller", description=__doc__)
    parser.add_argument(
        "--target", required=True, help="SIP URI to call, e.g. sip:queue@127.0.0.1:5070"
    )
    parser.add_argument("--listen", default="127.0.0.1:0", help="our SIP UDP address HOST:PORT")
    parser.add_argument("--callers", required=True, help='JSON list of {"name": …, "number": …}')
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between calls")
    parser.add_argument(
        "--ring-timeout", type=float, default=45.0, help="give up after SECONDS ringing"
    )
    parser.add_argument("--talk", type=float, default=120.0, help="hang up after SECONDS talking")
    parser.add_argument("--log", default=os.devnull, help="log file")
    args = parser.parse_args(argv)
    NativeOutput(Path(args.log) if args.log != os.devnull else None)
    caller = DemoCaller(args)
    die_with_parent()

    def _stop(*_: object) -> None:
        caller.stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return caller.run()


if __name__ == "__main__":
    sys.exit(main())
