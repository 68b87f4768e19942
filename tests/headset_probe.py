# SPDX-License-Identifier: GPL-2.0-or-later
"""A tiny pjsua2 process around one :class:`sip.headset.Headset` (run as a subprocess).

pjsua2 must be created, driven and destroyed on one thread, and a native
abort must not take pytest down, so the tests run this as a child:

    python -m tests.headset_probe --seconds 3 --tone 1000 --record mic.wav

A tone generator feeds the headset port (it comes out of the sound device)
and a WAV recorder takes what the port hears from the microphone. For the
latency bench (``--burst-ms``) the tone is a burst every second, recorded in
the same file as what comes back; ``--echo`` swaps the headset for a port
that echoes inside the bridge (the baseline). The last
line printed is JSON: ``{"ok": true, "describe": {...}}`` or
``{"ok": false, "error": "..."}`` (exit 1).
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import sys
import time
from typing import Any

import pjsua2 as pj

from sip.headset import Headset, HeadsetError
from sip.media import tone_generator
from sip.settings import HeadsetSettings


class EchoPort(pj.AudioMediaPort):  # type: ignore[misc]
    """The cheapest agent audio path: a port that says back what it hears, no device.

    The latency bench's baseline: one conference-bridge hop each way through
    a Python port, everything the headset adds (queues, PortAudio, device)
    taken away.
    """

    def __init__(self) -> None:
        super().__init__()
        self.frames: collections.deque[Any] = collections.deque(maxlen=3)

    def onFrameReceived(self, frame: Any) -> None:  # noqa: N802 - pjsua2 API name
        self.frames.append(pj.ByteVector(frame.buf))

    def onFrameRequested(self, frame: Any) -> None:  # noqa: N802 - pjsua2 API name
        if self.frames:
            frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
            frame.buf = self.frames.popleft()
            frame.size = len(frame.buf)


def new_endpoint(udp_port: int | None = None) -> Any:
    """A started, silent, single-threaded pjsua2 endpoint (SIP over UDP on 127.0.0.1
    when ``udp_port`` is given), the null device as its clock."""
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.logConfig.consoleLevel = 0
    cfg.logConfig.level = 0
    ep.libInit(cfg)
    if udp_port is not None:
        transport = pj.TransportConfig()
        transport.boundAddress = "127.0.0.1"
        transport.port = udp_port
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
    ep.libStart()
    ep.audDevManager().setNullDev()
    return ep


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Open the headset, play and record for ``args.seconds``, report."""
    ep = new_endpoint()
    headset = Headset(HeadsetSettings(args.output, args.input, args.buffer_ms))
    echo: Any = None
    tone: Any = None
    recorder: Any = None
    try:
        if args.echo:
            fmt = pj.MediaFormatAudio()
            fmt.init(pj.PJMEDIA_FORMAT_PCM, 16000, 1, 20000, 16)
            echo = EchoPort()
            echo.createPort("echo", fmt)
            port = echo
        else:
            headset.open()
            port = headset.port
        if args.tone:
            if args.burst_ms:
                tone = tone_generator(
                    args.tone, on_ms=args.burst_ms, off_ms=1000 - args.burst_ms, clock_rate=16000
                )
            else:
                tone = tone_generator(args.tone, clock_rate=16000)
        if args.record:
            recorder = pj.AudioMediaRecorder()
            recorder.createRecorder(args.record)
            port.startTransmit(recorder)
        if tone is not None:
            if args.burst_ms and recorder is not None:
                # The sent burst and what comes back share one file (one time base).
                tone.startTransmit(recorder)
            tone.startTransmit(port)
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            ep.libHandleEvents(10)
        return {"ok": True, "describe": {} if args.echo else headset.describe()}
    except HeadsetError as exc:
        return {"ok": False, "error": str(exc)}
    finally:
        tone = recorder = port = echo = None
        headset.close()
        del headset
        gc.collect()
        ep.libDestroy()


def main() -> int:
    """Entry point; prints one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--tone", type=int, default=0)
    parser.add_argument("--record", default="")
    parser.add_argument("--output", default="")
    parser.add_argument("--input", default="")
    parser.add_argument("--buffer-ms", type=int, default=60)
    parser.add_argument(
        "--burst-ms", type=int, default=0, help="tone on this long every second (and recorded)"
    )
    parser.add_argument("--echo", action="store_true", help="an echo port instead of the headset")
    result = run(parser.parse_args())
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
