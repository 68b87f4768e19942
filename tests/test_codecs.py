# SPDX-License-Identifier: GPL-2.0-or-later
"""The codec policy: names, config errors, offers answered in our order, 488 for none of ours.

The offers come from a raw SIP caller (its SDP is whatever the test writes),
so the codec each call lands on is read from the engine's own 200 OK.
"""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path

import pytest

from console.core.agent_state import AgentState
from console.core.config import SipConfig
from console.core.events import decode
from console.core.schema import ValidationError
from console.widgets.status_bar import StatusBar
from sip.codecs import Codec, CodecPolicyError, best_for, offered, resolve
from tests.careline_cli import careline
from tests.console_app import make_app, screen_text, wait_for
from tests.engine_calls import engine_from
from tests.rawsip import RawCaller
from tests.support import EngineProcess

LIBRARY = [
    Codec.parse(name)
    for name in (
        "speex/16000/1",
        "speex/8000/1",
        "speex/32000/1",
        "iLBC/8000/1",
        "GSM/8000/1",
        "PCMU/8000/1",
        "PCMA/8000/1",
        "G722/16000/1",
        "L16/44100/1",
    )
]
"""What the pjsua2 wheel has, in its default order."""


def sdp_offer(*payloads: tuple[int, str]) -> str:
    """An SDP offer with these (payload type, rtpmap) in order, plus telephone-event."""
    pts = " ".join(str(pt) for pt, _ in payloads)
    maps = "".join(f"a=rtpmap:{pt} {spec}\r\n" for pt, spec in payloads)
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {{port}} RTP/AVP {pts} 101\r\n{maps}a=rtpmap:101 telephone-event/8000\r\n"
    )


PJSUA_DEFAULT_OFFER = sdp_offer(
    (96, "speex/16000"),
    (97, "speex/8000"),
    (98, "speex/32000"),
    (99, "iLBC/8000"),
    (3, "GSM/8000"),
    (0, "PCMU/8000"),
    (8, "PCMA/8000"),
    (9, "G722/8000"),
)
"""What a pjsua-based phone with the library's defaults offers: Speex first."""


# ------------------------------------------------------------------- units
def test_offered_reads_rtpmaps_static_payloads_and_only_the_first_audio_section() -> None:
    sdp = (
        "v=0\r\nm=audio 4000 RTP/AVP 9 0 8 96 101 18\r\n"
        "a=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n"
        "m=audio 4002 RTP/AVP 3\r\nm=video 4004 RTP/AVP 31\r\n"
    )
    assert [c.label for c in offered(sdp)] == [
        "G722/8000",
        "PCMU/8000",
        "PCMA/8000",
        "opus/48000/2",
        "G729/8000",
    ]


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "m=audio",
        "m=audio 1 RTP/AVP\r\n",
        "m=audio 1 RTP/AVP 96\r\na=rtpmap:96\r\n",
        "m=audio 1 RTP/AVP 96\r\na=rtpmap:96 x/y/z\r\n",
        "m=audio 1 RTP/AVP " + " ".join(str(n) for n in range(20000)) + "\r\n",
        "\udcff\x00m=audio 1 RTP/AVP 0\n",
        "m=video 1 RTP/AVP 0\r\n",
        "m=audio 1 RTP/AVP 96\r\na=rtpmap:96 PCMU/\u00b2/\u00b3\r\n",  # digits int() refuses
    ],
)
def test_offered_never_raises_on_garbage(hostile: str) -> None:
    codecs = offered(hostile)
    assert all(isinstance(codec, Codec) for codec in codecs)


def test_g722_matches_whatever_clock_an_offer_writes() -> None:
    # RFC 3551 writes G.722's RTP clock as 8000; the library calls it G722/16000.
    allowed = resolve(["G722", "PCMU"], LIBRARY)
    assert best_for([Codec("PCMU", 8000), Codec("G722", 8000)], allowed) == Codec("G722", 16000)
    assert best_for([Codec("opus", 48000, 2)], allowed) is None


def test_resolve_keeps_the_policy_order_and_every_rate_of_a_bare_name() -> None:
    assert [c.label for c in resolve(["PCMA", "G722"], LIBRARY)] == ["PCMA/8000", "G722/16000"]
    everything = resolve(["speex", "pcmu"], LIBRARY, allow_risky=True)
    assert [c.label for c in everything] == [
        "speex/16000",
        "speex/8000",
        "speex/32000",
        "PCMU/8000",
    ]
    one = resolve(["speex/8000"], LIBRARY, allow_risky=True)
    assert [c.label for c in one] == ["speex/8000"]


def test_resolve_errors_name_what_the_library_has() -> None:
    with pytest.raises(CodecPolicyError) as unknown:
        resolve(["opus", "PCMU"], LIBRARY)
    assert str(unknown.value) == (
        "sip.codecs: this engine has no codec 'opus'; it has: speex/16000, speex/8000, "
        "speex/32000, iLBC/8000, GSM/8000, PCMU/8000, PCMA/8000, G722/16000, L16/44100"
    )
    with pytest.raises(CodecPolicyError, match="no codec 'PCMU/16000'"):
        resolve(["PCMU/16000"], LIBRARY)
    with pytest.raises(CodecPolicyError, match="allow_speex_despite_dropouts"):
        resolve(["speex"], LIBRARY)
    with pytest.raises(CodecPolicyError, match="empty"):
        resolve([], LIBRARY)


# ------------------------------------------------------------------ config
def test_config_defaults_to_g722_then_g711() -> None:
    assert SipConfig().codecs == ["G722", "PCMU", "PCMA"]
    assert SipConfig().allow_speex_despite_dropouts is False


@pytest.mark.parametrize(
    ("codecs", "message"),
    [
        (["G722", "g722"], "a codec is named twice"),
        (["PCMU;rm -rf"], "is not a codec name"),
        (["speex/16000"], "sip.allow_speex_despite_dropouts: true"),
        ([], "at least 1 item"),
        (["x" * 40], "is not a codec name"),
        (["PCMU/\u0663"], "is not a codec name"),  # an Arabic-Indic digit
    ],
)
def test_config_rejects_bad_codec_lists(codecs: list[str], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        SipConfig(codecs=codecs)


def test_speex_is_allowed_with_the_explicit_setting() -> None:
    sip = SipConfig(codecs=["speex/8000", "PCMU"], allow_speex_despite_dropouts=True)
    assert sip.codecs == ["speex/8000", "PCMU"]


def test_a_bad_codec_list_stops_careline_with_the_file_and_field(tmp_path: Path) -> None:
    config = tmp_path / "careline.yaml"
    config.write_text("sip:\n  codecs: [G722, speex]\n")
    done = careline("--config", str(config), "config", timeout=30)
    assert done.returncode == 2
    assert str(config) in done.stderr
    assert "codecs" in done.stderr
    assert "allow_speex_despite_dropouts" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_codec_the_engine_lacks_stops_it_with_the_list_it_has(tmp_path: Path) -> None:
    engine = engine_from(tmp_path, "sip:\n  codecs: [G729, PCMU]\n")
    try:
        assert engine.proc.wait(30) == 2
        stderr = engine.stderr()
    finally:
        engine.stop()
    assert "this engine has no codec 'G729'; it has: speex/16000" in stderr
    assert "G722/16000" in stderr
    assert "Traceback" not in stderr


def test_the_engine_reports_the_enabled_codecs_in_order(tmp_path: Path) -> None:
    engine = engine_from(
        tmp_path, "sip:\n  codecs: [PCMA, speex/8000]\n  allow_speex_despite_dropouts: true\n"
    )
    try:
        ready = engine.wait_event("engine.ready")
        assert ready["codecs"] == ["PCMA/8000", "speex/8000"]
        assert engine.command("status")["result"]["codecs"] == ["PCMA/8000", "speex/8000"]
    finally:
        assert engine.stop() == 0, engine.log_tail()


# ------------------------------------------------------------------ offers
def answered_codec(engine: EngineProcess, offer: str) -> tuple[str, dict[str, object]]:
    """Call ``engine`` with ``offer``; returns (the 200 OK's first payload, the call's codec)."""
    caller = RawCaller(engine.port)
    try:
        dialog = caller.invite(sdp=offer)
        call_id = engine.wait_event("call.incoming")["call"]["id"]
        assert engine.command("answer", call=call_id)["ok"]
        ok = caller.wait_status(dialog, 200)
        caller.ack(dialog, ok)
        answer = ok.raw.partition("\r\n\r\n")[2]
        (m_line,) = [line for line in answer.splitlines() if line.startswith("m=audio")]
        codec = engine.wait_event("call.codec", call_id=call_id)
        assert caller.bye(dialog) == 200
        engine.wait_event("call.ended", call_id=call_id)
        return m_line.split()[3], {k: codec[k] for k in ("name", "clock_rate")}
    finally:
        caller.close()


def test_a_speex_first_offer_lands_on_g722(engine: EngineProcess) -> None:
    payload, codec = answered_codec(engine, PJSUA_DEFAULT_OFFER)

    assert payload == "9"
    assert codec == {"name": "G722", "clock_rate": 16000}


def test_our_order_wins_over_the_callers(engine: EngineProcess) -> None:
    offer = sdp_offer((8, "PCMA/8000"), (0, "PCMU/8000"), (9, "G722/8000"))

    payload, codec = answered_codec(engine, offer)

    assert payload == "9"
    assert codec == {"name": "G722", "clock_rate": 16000}


def test_g711_only_lands_on_pcmu_before_pcma(engine: EngineProcess) -> None:
    payload, codec = answered_codec(engine, sdp_offer((8, "PCMA/8000"), (0, "PCMU/8000")))

    assert payload == "0"
    assert codec == {"name": "PCMU", "clock_rate": 8000}


def test_an_offer_with_none_of_our_codecs_is_refused_488_with_the_reason(
    engine: EngineProcess,
) -> None:
    offer = sdp_offer((96, "speex/16000"), (99, "iLBC/8000"), (3, "GSM/8000"))
    with closing(RawCaller(engine.port)) as caller:
        refused = caller.final_acked(caller.invite(sdp=offer))

    assert refused.status == 488
    away = engine.wait_event("call.turned_away")
    # Refused before it rang: one event, no call.incoming/call.ended pair.
    engine.forget("call.turned_away")
    assert [e["event"] for e in engine.events if e["event"].startswith("call.")] == []
    assert (away["reason"], away["sip_status"]) == ("no_allowed_codec", 488)
    assert away["detail"] == (
        "the caller offered only speex/16000, iLBC/8000, GSM/8000; "
        "sip.codecs allows G722/16000, PCMU/8000, PCMA/8000"
    )
    notice = AgentState(phone_online=True).apply(decode(away)).refusal_notice
    assert notice.startswith("Call from Raw Caller refused: its phone offered no codec")
    assert "speex/16000" in notice
    # The next call is answered on our codec as before.
    payload, _codec = answered_codec(engine, PJSUA_DEFAULT_OFFER)
    assert payload == "9"


@pytest.mark.realtime  # compares restart gaps in seconds: run alone
async def test_the_console_says_why_the_phone_cannot_start_and_backs_off(tmp_path: Path) -> None:
    app = make_app(tmp_path, "sip:\n  codecs: [G729, G722]\n")  # restart delay 0.2 s
    async with app.run_test(size=(160, 40)) as pilot:
        status = app.agent_screen.query_one(StatusBar)
        await wait_for(
            pilot, lambda: "no codec 'G729'" in screen_text(app), 30, "the reason on screen"
        )
        assert not status.online
        # Each failed start waits twice as long as the last: 0.2, 0.4, 0.8, 1.6 s...
        seen: dict[int, float] = {}
        while len(seen) < 5:
            seen.setdefault(app.phone.restarts, time.monotonic())
            await pilot.pause(0.02)
        first, *_, last = sorted(seen)
        gaps = [seen[n + 1] - seen[n] for n in sorted(seen)[:-1]]
        assert gaps[-1] > gaps[0] + 1.0, (first, last, gaps)
