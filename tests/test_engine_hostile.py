# SPDX-License-Identifier: GPL-2.0-or-later
"""Malformed and hostile SIP traffic never takes the engine down."""

from __future__ import annotations

import json
import random
import socket
import time
from pathlib import Path

from console.core.store import Store
from tests.rawsip import RawCaller
from tests.support import EngineProcess, Sipp

INVITE = (
    "INVITE sip:queue@127.0.0.1:{port} SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{n}\r\n"
    'From: "{name}" <sip:{number}@127.0.0.1:{me}>;tag={n}\r\n'
    "To: <sip:queue@127.0.0.1:{port}>\r\n"
    "Call-ID: hostile-{n}\r\nCSeq: 1 INVITE\r\n"
    "Contact: <sip:x@127.0.0.1:{me}>\r\nMax-Forwards: 70\r\n{extra}"
    "Content-Type: application/sdp\r\nContent-Length: {length}\r\n\r\n{body}"
)


def hostile_messages(port: int, me: int) -> list[bytes]:
    """A mix of malformed, oversized and nonsensical SIP (and non-SIP) datagrams."""
    rng = random.Random(3125)
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
        "t=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
    )
    cases = [
        b"",
        b"\x00" * 100,
        bytes(rng.randrange(256) for _ in range(1400)),
        b"INVITE\r\n\r\n",
        b"INVITE sip:queue@127.0.0.1 SIP/2.0\r\n\r\n",  # no headers at all
        b"SIP/2.0 200 OK\r\nCall-ID: nowhere\r\n\r\n",  # stray response
        b"BYE sip:x@127.0.0.1 SIP/2.0\r\nCall-ID: unknown\r\nCSeq: 1 BYE\r\n\r\n",
    ]
    variants = [
        {"name": "x" * 4000, "number": "1", "body": sdp},  # huge display name
        {"name": '\\"\x1b[31m', "number": "\u202e123", "body": sdp},  # escapes, RTL
        {"name": "ok", "number": "1", "body": "v=0\r\nm=audio abc RTP/AVP\r\n"},  # bad SDP
        {"name": "ok", "number": "1", "body": "not sdp at all"},
        {"name": "ok", "number": "1", "body": sdp * 40},  # very long body
        {"name": "ok", "number": "1", "body": sdp.replace("IN IP4", "IN IP9")},
        # Offers the codec policy reads before pjsua does: invalid UTF-8,
        # thousands of payload types, rtpmaps of nothing.
        {"name": "ok", "number": "1", "body": sdp.replace("s=-", "s=\udcff\udcfe") + "a=x\r\n"},
        {
            "name": "ok",
            "number": "1",
            "body": sdp.replace("RTP/AVP 0", "RTP/AVP " + " ".join(map(str, range(3000)))),
        },
        {
            "name": "ok",
            "number": "1",
            "body": sdp.replace("RTP/AVP 0", "RTP/AVP 96 9")
            + "a=rtpmap:96\r\na=rtpmap:9 /\r\na=rtpmap: G722\r\n",
        },
        # 200 media lines; ports out of range, zero, negative, not a number.
        {"name": "ok", "number": "1", "body": sdp + "m=audio 4000 RTP/AVP 0\r\n" * 199},
        {"name": "ok", "number": "1", "body": sdp.replace("audio 9", "audio 70000")},
        {"name": "ok", "number": "1", "body": sdp.replace("audio 9", "audio 0")},
        {"name": "ok", "number": "1", "body": sdp.replace("audio 9", "audio -5")},
        {"name": "ok", "number": "1", "body": sdp.replace("audio 9", "audio 9/99999")},
        # Huge headers: one of 60 KB, and 2,000 small ones.
        {"name": "ok", "number": "1", "body": sdp, "extra": "X-Big: " + "a" * 60000 + "\r\n"},
        {
            "name": "ok",
            "number": "1",
            "body": sdp,
            "extra": "".join(f"X-H{i}: v\r\n" for i in range(2000)),
        },
    ]
    for n, fields in enumerate(variants):
        body = str(fields["body"])
        text = INVITE.format(
            port=port,
            me=me,
            n=n,
            name=fields["name"],
            number=fields["number"],
            length=len(body.encode(errors="surrogateescape")),
            body=body,
            extra=fields.get("extra", ""),
        )
        raw = text.encode("utf-8", errors="surrogateescape")  # lone surrogates: invalid bytes
        cases.append(raw)
        cases.append(raw.replace(b"Content-Length", b"Content-Length: 99999\r\nX-Dup"))
        cases.append(raw.replace(b"Content-Length: ", b"Content-Length: 5\r\nX-Was: "))
        cut = raw
        cases.append(cut[: rng.randrange(10, len(cut))])  # truncated mid-message
    return cases


def test_hostile_datagrams_then_a_normal_call(engine: EngineProcess, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        me = int(sock.getsockname()[1])
        for _ in range(3):
            for message in hostile_messages(engine.port, me):
                sock.sendto(message[:65000], ("127.0.0.1", engine.port))
    assert engine.command("ping")["result"] == {"pong": True}
    # Whatever of that was well-formed enough to ring is declined...
    deadline = time.monotonic() + 10
    while calls := engine.command("status")["result"]["calls"]:
        for call in calls:
            engine.command("reject", call=call["id"], code=486)
        assert time.monotonic() < deadline, calls
        time.sleep(0.2)
    # ...and a normal call works as before.
    sipp = Sipp(tmp_path, "uac_caller_hangs_up.xml", engine.port, callers=[("After Storm", "+1")])
    deadline = time.monotonic() + 10
    while True:
        incoming = engine.wait_event("call.incoming", timeout=10)["call"]
        if incoming["caller"]["display_name"] == "After Storm":
            break
        assert time.monotonic() < deadline
    assert engine.command("answer", call=incoming["id"])["ok"]
    ended = engine.wait_event("call.ended", call_id=incoming["id"])
    assert ended["ended_by"] == "caller"
    # Our order still wins after the hostile offers (SIPp offers PCMA, PCMU).
    assert ended["call"]["codec"]["name"] == "PCMU"
    assert sipp.wait() == 0, sipp.report()
    assert "Assertion" not in engine.log_tail(400)


def test_protocol_garbage_on_stdin_gets_errors_not_a_crash(engine: EngineProcess) -> None:
    assert engine.proc.stdin is not None
    for line in (b"\xff\xfe\n", b"[1,2,3]\n", b'{"id": 5, "cmd": "ping"}\n', b"x" * 70000 + b"\n"):
        engine.proc.stdin.write(line)
        engine.proc.stdin.flush()
    errors = [engine.next_message(5) for _ in range(4)]
    assert all(reply["ok"] is False for reply in errors), errors
    assert engine.command("ping")["ok"]


async def test_invalid_utf8_from_the_network_reaches_the_store_as_replacement_characters(
    engine: EngineProcess, tmp_path: Path
) -> None:
    """Bytes that are not UTF-8 in a caller's display name become U+FFFD in the engine."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        me = int(sock.getsockname()[1])
        sdp = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
        )
        text = INVITE.format(
            port=engine.port,
            me=me,
            n="utf8",
            name="Dr \udcff\udcfe Evil",
            number="+15550142",
            length=len(sdp),
            body=sdp,
            extra="",
        )
        sock.sendto(text.encode("utf-8", errors="surrogateescape"), ("127.0.0.1", engine.port))
        call = engine.wait_event("call.incoming")["call"]
    assert call["caller"]["display_name"] == "Dr \ufffd\ufffd Evil"
    json.dumps(call, ensure_ascii=False).encode("utf-8")  # strict: no lone surrogate anywhere
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        await store.call_started("agent-1", call)
        assert await store.unfinished_calls() == [call["id"]]
    finally:
        await store.close()
    assert engine.command("reject", call=call["id"], code=486)["ok"]


def test_a_call_the_library_refuses_after_it_rang_is_reported_once(tmp_path: Path) -> None:
    """An offer pjsua accepts at first and refuses once media is set up (406) rang
    already: it ends as that call (call.ended), never also as a call turned away."""
    config = tmp_path / "srtp.yaml"
    config.write_text("sip:\n  srtp: optional\n")
    engine = EngineProcess(tmp_path, "--config", str(config))
    engine.wait_event("engine.ready")
    broken_crypto = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio {port} RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:short\r\n"
    )
    caller = RawCaller(engine.port)
    try:
        refused = caller.final_acked(caller.invite(sdp=broken_crypto))
        assert refused.status == 406
        call_id = engine.wait_event("call.incoming")["call"]["id"]
        ended = engine.wait_event("call.ended", call_id=call_id)
        assert (ended["reason"], ended["sip_status"]) == ("failed", 406)
        time.sleep(0.3)
        engine.forget("none")  # reads every event waiting (and drops no real one)
        assert [e for e in engine.events if e["event"] == "call.turned_away"] == []
        assert engine.command("status")["result"]["calls"] == []
    finally:
        caller.close()
        assert engine.stop() == 0, engine.log_tail()


def test_a_burst_of_callers_leaves_no_ghost_and_the_next_call_rings_at_once(
    engine: EngineProcess, tmp_path: Path
) -> None:
    """500 INVITEs at 50/s, four at a time, each cancelled after 30 ms: calls end
    while new ones take their library slots. Nothing is left behind."""
    burst = Sipp(
        tmp_path,
        "uac_cancel_after_pause.xml",
        engine.port,
        calls=500,
        concurrent=4,
        rate=50,
        timeout=60,
        extra=("-d", "30"),
    )
    # 0: every call as scripted; 1: some were turned away (486, the queue is full).
    assert burst.wait(90) in (0, 1), burst.report()
    deadline = time.monotonic() + 5
    while (status := engine.command("status")["result"])["calls"]:
        assert time.monotonic() < deadline, status["calls"]  # a ghost record
        time.sleep(0.2)
    assert status["queue_capacity"] == 3
    started = time.monotonic()
    sipp = Sipp(tmp_path, "uac_caller_hangs_up.xml", engine.port, callers=[("After Burst", "+1")])
    incoming = engine.wait_event("call.incoming", timeout=5)
    while incoming["call"]["caller"]["display_name"] != "After Burst":
        incoming = engine.wait_event("call.incoming", timeout=5)
    assert time.monotonic() - started < 2.0
    assert engine.command("answer", call=incoming["call"]["id"])["ok"]
    assert engine.wait_event("call.ended", call_id=incoming["call"]["id"])["ended_by"] == "caller"
    assert sipp.wait() == 0, sipp.report()
    assert engine.stop() == 0, engine.log_tail()


def test_hundreds_of_answered_calls_each_holding_the_last_never_fill_the_bridge(
    tmp_path: Path,
) -> None:
    """Each answer holds the call before it (a re-INVITE that rebuilds its stream): 250
    callers, three at a time. With pjsua's sound-device auto-close the bridge's clock
    stopped between calls, port removals waited, and after ~150 such calls the 254-slot
    bridge was full: every later call failed (PJ_ETOOMANY). All must be answered."""
    config = tmp_path / "auto.yaml"
    config.write_text("sip:\n  auto_answer: 200\n")
    engine = EngineProcess(tmp_path, "--config", str(config))
    engine.wait_event("engine.ready")
    callers = Sipp(
        tmp_path, "uac_burst_call.xml", engine.port, calls=250, concurrent=3, rate=25, timeout=60
    )
    assert callers.wait(90) == 0, callers.report()
    engine.forget("none")
    reasons = [e["reason"] for e in engine.events if e["event"] == "call.ended"]
    assert reasons.count("completed") == 250, sorted(set(reasons))
    assert engine.command("status")["result"]["calls"] == []
    probe = Sipp(tmp_path, "uac_burst_call.xml", engine.port)
    assert probe.wait() == 0, probe.report()
    assert engine.stop() == 0, engine.log_tail()
