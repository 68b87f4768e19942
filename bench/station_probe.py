# SPDX-License-Identifier: GPL-2.0-or-later
"""The patient and the agent's phone in one pjsua2 process, for bench.audio_latency.

    python -m bench.station_probe --listen 5090 --call sip:queue@127.0.0.1:5070 \
        --wait-station --seconds 6 --record out.wav

The *phone* (account on ``--listen``) answers any call and loops what it
hears straight back into it, like a handset whose microphone hears its own
earpiece. The *patient* calls ``--call`` and sends a 10 ms 1 kHz burst every
second; one WAV recorder takes the burst as sent and what comes back, so both
onsets share a time base. With ``--wait-station`` the patient dials only once
the engine's station call has reached the phone (station mode); without it
the patient calls the phone directly (the baseline: one RTP hop each way).
With ``--monitor GRANT`` (bench.monitor_setup) the probe is also the supervisor: once
the patient's call is answered it calls ``--call`` again as a monitor leg
(``X-Careline-Monitor: GRANT;mode=listen``), and the recorder takes what arrives on
that leg instead of the patient's call: the burst's trip patient -> engine ->
supervisor, one way.
The last line printed is JSON: ``{"ok": true}`` or ``{"ok": false, "error"}``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pjsua2 as pj

from sip.media import tone_generator
from sip.monitor_terms import MONITOR_HEADER
from tests.headset_probe import new_endpoint


class LoopCall(pj.Call):  # type: ignore[misc]
    """A call whose received audio is sent straight back (the phone's side)."""

    def onCallMediaState(self, _prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        info = self.getInfo()
        for index, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                audio = self.getAudioMedia(index)
                audio.startTransmit(audio)


class Phone(pj.Account):  # type: ignore[misc]
    """Answers every call with a loop."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[LoopCall] = []

    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        call = LoopCall(self, prm.callId)
        self.calls.append(call)
        answer = pj.CallOpParam()
        answer.statusCode = 200
        call.answer(answer)

    def answered(self) -> bool:
        """True once a call to the phone is confirmed."""
        return any(c.getInfo().state == pj.PJSIP_INV_STATE_CONFIRMED for c in self.calls)


class PatientCall(pj.Call):  # type: ignore[misc]
    """The patient's call: burst out, what comes back recorded (unless ``recorder`` is None:
    a monitor leg records instead)."""

    def __init__(self, account: pj.Account, tone: Any, recorder: Any) -> None:
        super().__init__(account)
        self.tone = tone
        self.recorder = recorder
        self.audio_up = False

    def onCallMediaState(self, _prm: Any) -> None:  # noqa: N802 - pjsua2 API name
        info = self.getInfo()
        for index, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                audio = self.getAudioMedia(index)
                if self.tone is not None:
                    self.tone.startTransmit(audio)
                if self.recorder is not None:
                    audio.startTransmit(self.recorder)
                self.audio_up = True


@contextmanager
def endpoint(udp_port: int) -> Iterator[Any]:
    """A started endpoint with SIP on ``udp_port``, destroyed after the block; the block
    drops every pjsua2 object it made first (the library must outlive them all)."""
    ep = new_endpoint(udp_port)
    try:
        yield ep
    finally:
        gc.collect()
        ep.libDestroy()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Listen, (wait for the station leg,) call, record for ``args.seconds``."""
    with endpoint(args.listen) as ep:
        acfg = pj.AccountConfig()
        acfg.idUri = f"sip:phone@127.0.0.1:{args.listen}"
        acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
        phone = Phone()
        phone.create(acfg, True)
        burst = args.burst_ms
        tone = tone_generator(1000, on_ms=burst, off_ms=1000 - burst, clock_rate=16000)
        recorder = pj.AudioMediaRecorder()
        recorder.createRecorder(args.record)
        tone.startTransmit(recorder)
        patient: PatientCall | None = None
        supervisor: PatientCall | None = None
        print(json.dumps({"listening": args.listen}), flush=True)
        try:
            if args.wait_station:
                deadline = time.monotonic() + 20
                while not phone.answered():
                    if time.monotonic() > deadline:
                        return {"ok": False, "error": "the station call never reached the phone"}
                    ep.libHandleEvents(10)
            patient = PatientCall(phone, tone, None if args.monitor else recorder)
            patient.makeCall(args.call, pj.CallOpParam(True))
            if args.monitor:
                supervisor = listen_in(ep, phone, patient, recorder, args)
                if supervisor is None:
                    return {"ok": False, "error": "the patient's call never came up"}
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                ep.libHandleEvents(10)
            return {"ok": True}
        finally:
            ep.hangupAllCalls()
            for _ in range(50):
                ep.libHandleEvents(10)
            patient = supervisor = None
            phone.calls.clear()
            tone = recorder = None
            phone.shutdown()
            del phone


def listen_in(
    ep: Any, account: pj.Account, patient: PatientCall, recorder: Any, args: argparse.Namespace
) -> PatientCall | None:
    """Once ``patient`` has audio, call ``args.call`` as a supervisor listening in (its
    audio recorded); None if the patient's call never came up."""
    deadline = time.monotonic() + 20
    while not patient.audio_up:
        if time.monotonic() > deadline:
            return None
        ep.libHandleEvents(10)
    leg = PatientCall(account, None, recorder)
    param = pj.CallOpParam(True)
    header = pj.SipHeader()
    header.hName, header.hValue = MONITOR_HEADER, f"{args.monitor};mode=listen"
    param.txOption.headers.append(header)
    leg.makeCall(args.call, param)
    return leg


def argument_parser() -> argparse.ArgumentParser:
    """The probe's command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--listen", type=int, required=True, help="the phone's SIP UDP port")
    parser.add_argument("--call", required=True, help="the URI the patient calls")
    parser.add_argument("--wait-station", action="store_true")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--burst-ms", type=int, default=10)
    parser.add_argument("--record", required=True)
    parser.add_argument("--monitor", default="", help="listen in with this grant id too")
    return parser


def main() -> int:
    """Entry point; prints one JSON line last."""
    result = run(argument_parser().parse_args())
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
