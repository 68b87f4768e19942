# SPDX-License-Identifier: GPL-2.0-or-later
"""Bytes that are not UTF-8 in every caller text field, end to end: wire → engine → store → screen.

A caller's display name, the called party's display name and every
pass-through header (X-Queue, Alert-Info, Diversion, Priority) carry invalid
UTF-8 (and markup and escape characters). (Bad bytes inside a SIP URI are a
syntax error: the library drops that datagram, see test_engine_hostile.) The real console with its
real engine must ring it, show it with U+FFFD in place of the bad bytes and
the markup as literal text, answer and hang up, and store the call — no crash,
no lost record.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from pathlib import Path

from tests.console_app import SIZE, make_app, screen_text, sip_port, wait_for
from tests.rawsip import parse_response

BAD = "\udcff\udcfe"
"""Two bytes that are not UTF-8 (0xFF 0xFE), written with surrogateescape."""

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {media} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def hostile_invite(port: int, me: int, call_id: str) -> bytes:
    """An INVITE whose every free-text field carries invalid UTF-8, markup and escapes."""
    body = SDP.format(media=me + 2)
    text = (
        f"INVITE sip:queue@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKhostile{time.monotonic_ns()}\r\n"
        f'From: "Dr [bold]{BAD}[/] Evil\x1b[31m" <sip:+15550142@127.0.0.1:{me}>;tag=t1\r\n'
        f'To: "Queue {BAD}" <sip:queue@127.0.0.1:{port}>\r\n'
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:x@127.0.0.1:{me}>\r\nMax-Forwards: 70\r\n"
        f"X-Queue: refills{BAD}[link=x]\r\n"
        f"Alert-Info: <http://127.0.0.1/{BAD}>\r\n"
        f"Diversion: <sip:{BAD}@127.0.0.1>;reason=unconditional\r\n"
        f"Priority: {BAD}urgent\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    )
    return text.encode("utf-8", errors="surrogateescape")


def ack_the_answer(sock: socket.socket, port: int, call_id: str) -> None:
    """Wait for the 200 to our INVITE and ACK it (the call is up only once ACKed)."""
    sock.settimeout(10)
    while True:
        response = parse_response(sock.recv(65536).decode(errors="replace"))
        if response and response.status == 200 and response.method == "INVITE":
            break
    ack = (
        f"ACK sip:queue@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{sock.getsockname()[1]};branch=z9hG4bKack{call_id}\r\n"
        f"From: <sip:+15550142@127.0.0.1:{sock.getsockname()[1]}>;tag=t1\r\n"
        f"To: {response.header('to')}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    sock.sendto(ack.encode(), ("127.0.0.1", port))


async def test_invalid_utf8_in_every_caller_field_is_shown_stored_and_harmless(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        me = int(sock.getsockname()[1])
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
            call_id = f"hostile-utf8-{time.monotonic_ns()}"
            sock.sendto(hostile_invite(sip_port(app), me, call_id), ("127.0.0.1", sip_port(app)))
            await wait_for(
                pilot, lambda: bool(app.agent_screen.queue.ringing()), 10, "the call ringing"
            )
            await wait_for(
                pilot, lambda: "Dr [bold]\ufffd\ufffd[/] Evil" in screen_text(app), 5, "the name"
            )
            text = screen_text(app)
            assert "refills\ufffd\ufffd[link" in text  # the queue, literally (cut by its column)
            assert "\x1b" not in text  # the escape character is not passed to the terminal
            await pilot.press("a")
            await asyncio.to_thread(ack_the_answer, sock, sip_port(app), call_id)
            await wait_for(pilot, lambda: "talking" in screen_text(app), 10, "the call answered")
            await pilot.press("h")
            await wait_for(
                pilot,
                lambda: not app.agent_screen.queue.calls(),
                10,
                "the call ended",
            )
            await pilot.pause(0.5)
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        rows = db.execute(
            "SELECT caller_name, caller_number, called_uri, answered_at, ended_at FROM calls"
        ).fetchall()
    assert len(rows) == 1, rows
    name, number, called, answered, ended = rows[0]
    assert name.startswith("Dr [bold]\ufffd\ufffd[/] Evil")
    assert number == "+15550142"
    assert called.startswith("sip:queue@")
    assert answered is not None
    assert ended is not None
