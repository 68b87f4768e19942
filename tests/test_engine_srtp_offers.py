# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile and unusual SRTP offers under every ``sip.srtp`` policy (hardened library).

Each engine gets plain RTP, SDES only, DTLS only, both, broken crypto lines and
a secure profile with no keys at all, then a normal call, then SIGTERM. It must
answer what its policy allows with the right keying, refuse the rest with a
SIP error, never crash, and exit 0.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from tests.rawsip import RawCaller, SipResponse
from tests.support import EngineProcess, Sipp

HEAD = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
KEY = "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzcyAoc2VuZGVyX2F"[:47]
FINGERPRINT = (
    "a=fingerprint:sha-256 " + ":".join(f"{n:02X}" for n in range(32)) + "\r\na=setup:actpass\r\n"
)
CRYPTO = f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 {KEY}\r\n"
OFFERS = {
    "plain": HEAD + "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
    "sdes": HEAD + "m=audio {port} RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n" + CRYPTO,
    "dtls": HEAD + "m=audio {port} UDP/TLS/RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n" + FINGERPRINT,
    "both": HEAD + "m=audio {port} RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n" + CRYPTO + FINGERPRINT,
    "broken crypto": HEAD
    + "m=audio {port} RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:short\r\n"
    + "a=crypto:x NO_SUCH_SUITE inline:\r\na=crypto:\r\n",
    "no keys": HEAD + "m=audio {port} RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
}

NUMBERS = itertools.count(1)

# What each policy does with each offer: answered with which keying, or refused.
EXPECTED = {
    "off": {
        "plain": "plain",
        "sdes": "refused",
        "dtls": "refused",
        "both": "refused",
        "broken crypto": "refused",
        "no keys": "refused",
    },
    "optional": {
        "plain": "plain",
        "sdes": "sdes",
        "dtls": "dtls",
        "both": "sdes",
        "broken crypto": "refused",
        "no keys": "refused",
    },
    "mandatory": {
        "plain": "refused",
        "sdes": "sdes",
        "dtls": "dtls",
        "both": "sdes",
        "broken crypto": "refused",
        "no keys": "refused",
    },
}


def keying_of(answer: SipResponse) -> str:
    """Which keying the engine's answer SDP chose."""
    body = answer.raw.split("\r\n\r\n", 1)[1]
    if "a=crypto:" in body:
        return "sdes"
    if "a=fingerprint:" in body:
        return "dtls"
    return "plain"


def incoming_from(engine: EngineProcess, number: str) -> dict[str, Any]:
    """The call.incoming of the caller ``number`` (earlier callers' events are skipped)."""
    while True:
        call = engine.wait_event("call.incoming")["call"]
        if call["caller"]["number"] == number:
            return dict(call)


def place(engine: EngineProcess, caller: RawCaller, sdp: str) -> str:
    """Offer ``sdp``; answer it if it rings. Returns the keying answered, or "refused"."""
    number = f"+1555{next(NUMBERS):07d}"
    dialog = caller.invite(number, sdp=sdp)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        response = caller._receive(dialog, deadline - time.monotonic())
        assert response is not None, "no response to the offer"
        if response.method != "INVITE":
            continue
        if response.status >= 300:
            caller.ack(dialog, response)
            return "refused"
        if response.status == 180:
            break
    else:
        raise AssertionError("the offer neither rang nor was refused")
    call = incoming_from(engine, number)
    answered = engine.command("answer", call=call["id"])
    assert answered["ok"], answered
    final = caller.final_acked(dialog)
    if final.status >= 300:  # refused once media was set up (e.g. 406)
        engine.wait_event("call.ended", call_id=call["id"])
        return "refused"
    assert final.status == 200, final.raw
    keying = keying_of(final)
    assert caller.bye(dialog) == 200
    engine.wait_event("call.ended", call_id=call["id"])
    return keying


@pytest.mark.parametrize("policy", ["off", "optional", "mandatory"])
def test_every_srtp_offer_under_every_policy(policy: str, tmp_path: Path) -> None:
    config = tmp_path / "srtp.yaml"
    config.write_text(f'sip:\n  srtp: "{policy}"\n')
    engine = EngineProcess(tmp_path, "--config", str(config))
    ready = engine.wait_event("engine.ready")
    assert ready["library"]["dtls"], "these expectations are for the hardened library"
    caller = RawCaller(engine.port)
    try:
        outcomes = {name: place(engine, caller, sdp) for name, sdp in OFFERS.items()}
        assert outcomes == EXPECTED[policy]
        assert engine.command("status")["result"]["calls"] == []
        # A normal call afterwards (plain, or SDES under mandatory: SIPp cannot encrypt).
        if policy != "mandatory":
            sipp = Sipp(tmp_path, "uac_caller_hangs_up.xml", engine.port, callers=[("After", "+1")])
            incoming = incoming_from(engine, "+1")
            answered = engine.command("answer", call=incoming["id"])
            assert answered["ok"], (answered, incoming)
            assert engine.wait_event("call.ended", call_id=incoming["id"])["ended_by"] == "caller"
            assert sipp.wait() == 0, sipp.report()
        else:
            assert place(engine, caller, OFFERS["sdes"]) == "sdes"
    finally:
        caller.close()
        assert engine.stop() == 0, engine.log_tail()
    assert "Assertion" not in engine.log_tail(400)


def test_srtp_keying_sdes_only_refuses_a_dtls_only_offer(tmp_path: Path) -> None:
    """``srtp_keying: [sdes]`` keeps DTLS out: a DTLS-only offer is refused, SDES still works.

    This is the path that crashed pjsua-lib 2.15.1 (a null invite session when the
    media channel cannot be set up): pjproject/patches/0001 guards it.
    """
    config = tmp_path / "sdes.yaml"
    config.write_text("sip:\n  srtp: optional\n  srtp_keying: [sdes]\n")
    engine = EngineProcess(tmp_path, "--config", str(config))
    engine.wait_event("engine.ready")
    caller = RawCaller(engine.port)
    try:
        assert place(engine, caller, OFFERS["dtls"]) == "refused"
        assert place(engine, caller, OFFERS["sdes"]) == "sdes"
    finally:
        caller.close()
        assert engine.stop() == 0, engine.log_tail()
    assert "Error initializing media channel" in engine.log_path.read_text()
