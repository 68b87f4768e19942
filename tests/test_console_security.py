# SPDX-License-Identifier: GPL-2.0-or-later
"""What the agent sees when transport security refuses something (real engine, SIPp, Kamailio).

A call that cannot be encrypted under ``sip.srtp: mandatory`` is refused and the
console says so; a registrar whose TLS certificate cannot be verified leaves
the phone unregistered and the status bar and a toast say why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.app import CarelineApp
from console.core.agent_state import AgentState
from console.core.events import AnyEvent, decode
from console.screens.lock import LockScreen
from console.widgets.status_bar import StatusBar
from sip.registration import describe_registration
from sip.settings import AccountSettings
from tests.console_app import (
    SIZE,
    make_app,
    screen_text,
    shows_toast,
    sip_port,
    toasts,
    wait_for,
)
from tests.kamailio import Kamailio, TlsIdentity
from tests.support import Sipp, free_udp_tcp_port
from tests.tls_certs import issue, make_ca


def one_line(text: str) -> str:
    """Screen text as words: toasts wrap, and panel edges show between their lines."""
    return " ".join(word for word in text.split() if word not in ("│", "▌"))


def unencrypted_caller(app: CarelineApp, tmp_path: Path) -> Sipp:
    """Maria Lopez calls with plain RTP only; she expects 488 Not Acceptable Here."""
    callers = [("Maria Lopez", "+12025550142")]
    return Sipp(tmp_path, "uac_expect_not_acceptable.xml", sip_port(app), callers=callers)


async def test_a_call_that_cannot_be_encrypted_is_refused_with_the_reason_on_screen(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, "sip:\n  srtp: mandatory\n")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        sipp = unencrypted_caller(app, tmp_path)
        notice = "Call from Maria Lopez refused: it could not be encrypted (SRTP required)."
        await wait_for(pilot, lambda: shows_toast(app, notice), what="refusal notice")
        await wait_for(
            pilot,
            lambda: "it could not be encrypted (SRTP required)" in one_line(screen_text(app)),
            5,
            "the notice painted",
        )
        assert sipp.wait() == 0, sipp.report()  # the caller got 488 Not Acceptable Here
        assert not app.agent_screen.queue.ringing()
        why = app.agent_screen.agent.explain(app.now())
        assert "turned away" in why
        assert "it could not be encrypted (SRTP required)" in why


async def test_while_locked_the_refusal_is_shown_without_the_caller(tmp_path: Path) -> None:
    app = make_app(tmp_path, "sip:\n  srtp: mandatory\n")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="lock")
        sipp = unencrypted_caller(app, tmp_path)
        notice = "A call was refused: it could not be encrypted (SRTP required)."
        await wait_for(pilot, lambda: shows_toast(app, notice), what="refusal notice")
        assert sipp.wait() == 0, sipp.report()
        await pilot.pause(0.2)
        assert not [text for text in toasts(app) if "Maria" in text or "+1202" in text]
        assert "Maria" not in screen_text(app)


async def test_a_registrar_certificate_that_cannot_be_verified_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = tmp_path / "pki"
    ca, other = make_ca(pki, "careline"), make_ca(pki, "other")
    impostor = issue(other, pki, "impostor")
    monkeypatch.setenv("CARELINE_SIP_PASSWORD", "secret")
    with Kamailio(tmp_path, tls=TlsIdentity(impostor.cert, impostor.key, ca.cert)) as kamailio:
        app = make_app(
            tmp_path,
            "sip:\n"
            "  tls:\n"
            f"    port: {free_udp_tcp_port()}\n"
            f"    ca_file: {ca.cert}\n"
            "    verify_server: true\n"
            "  account:\n"
            f"    registrar: '{kamailio.tls_uri()}'\n"
            "    user: agent\n"
            "    domain: careline.test\n"
            "    transport: tls\n",
        )
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            bar = app.agent_screen.query_one(StatusBar)
            await wait_for(
                pilot, lambda: bar.state.registration == "failed", 20, "registration failed"
            )
            await pilot.pause()
            status_line = screen_text(app).splitlines()[0]
            assert "not registered: TLS certificate not trusted" in status_line
            assert bar.has_class("-offline")
            toast = next(text for text in toasts(app) if "Your phone is not" in text)
            assert "the registrar's certificate could not be verified" in toast
            assert "check sip.tls.ca_file" in toast
            await wait_for(
                pilot,
                lambda: "check sip.tls.ca_file" in one_line(screen_text(app)),
                5,
                "the toast painted",
            )
            assert kamailio.registered_contacts("agent") == []


def turned_away(reason: str, name: str = "Maria Lopez") -> AnyEvent:
    return decode(
        {
            "event": "call.turned_away",
            "time": "2026-01-01T10:00:00.000Z",
            "caller": {"display_name": name, "number": "+12025550142", "uri": "sip:x@127.0.0.1"},
            "reason": reason,
            "sip_status": 488,
        }
    )


def test_only_refusals_the_agent_must_know_about_get_a_notice() -> None:
    refused = AgentState(phone_online=True).apply(turned_away("not_encrypted"))
    assert refused.refusal_notice == (
        "Call from Maria Lopez refused: it could not be encrypted (SRTP required)."
    )
    later = datetime(2026, 1, 1, 10, 0, 30, tzinfo=UTC)
    assert "(a call was turned away 30 s ago: it could not be encrypted" in refused.explain(later)
    for routine in ("queue_full", "agent not_ready", "library_capacity", "refused"):
        assert AgentState().apply(turned_away(routine)).refusal_notice == ""
    # Caller text stays literal and loses its control characters.
    hostile = AgentState().apply(turned_away("not_encrypted", "[b]Eve[/b]\x1b[2J"))
    assert hostile.refusal_notice.startswith("Call from [b]Eve[/b]")
    assert "\x1b" not in hostile.refusal_notice


def test_tls_registration_failures_are_told_apart_from_other_503s() -> None:
    account = AccountSettings(registrar="sip:127.0.0.1;transport=tls", user="a", domain="d")
    cert = describe_registration(
        503, "SSL certificate verification error (PJSIP_TLS_ECERTVERIF)", 0, account
    )
    assert cert["state"] == "failed"
    assert cert["detail"].startswith("TLS certificate not trusted: ")
    assert "(SSL certificate verification error (PJSIP_TLS_ECERTVERIF))" in cert["detail"]
    assert cert["detail"].endswith("check sip.tls.ca_file and sip.account.registrar")
    plain = describe_registration(503, "Service Unavailable", 0, account)
    assert plain["detail"] == "service unavailable (503): the registrar or the network is down"


async def test_the_status_bar_tooltip_names_the_phone_library(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        bar = app.agent_screen.query_one(StatusBar)
        await wait_for(pilot, lambda: bar.tooltip is not None, 20, "the library reported")
        tip = str(bar.tooltip)
        assert tip.startswith("pjsua2 2.15.1 (careline hardened) · OpenSSL 3.")
        assert "TLS 1.2/1.3 · DTLS-SRTP · 32 call slots" in tip
