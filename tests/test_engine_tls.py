# SPDX-License-Identifier: GPL-2.0-or-later
"""SIP over TLS 1.2 and 1.3 (hardened library: the system's OpenSSL 3), SRTP, and their errors.

Engine to engine, and engine to a real Kamailio registrar listening on TLS 1.2
with certificates from a test CA made here (tests/tls_certs.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.engine_calls import engine_with, finish, wait_incoming
from tests.kamailio import Kamailio, TlsIdentity
from tests.support import EngineProcess, Sipp, free_udp_tcp_port
from tests.tls_certs import Certificate, issue, make_ca


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (key, cert)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return key, cert


def tls_engine(
    tmp_path: Path, name: str, key: Path, cert: Path, version: str = "1.2"
) -> tuple[EngineProcess, int]:
    port = free_udp_tcp_port()  # TLS listens on TCP
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        "sip:\n  tls:\n"
        f"    port: {port}\n    cert_file: {cert}\n    key_file: {key}\n    ca_file: {cert}\n"
        f"    verify_server: false\n    version: '{version}'\n"
    )
    engine = EngineProcess(tmp_path, "--config", str(config))
    ready = engine.wait_event("engine.ready")
    assert ready["transports"]["tls"] == port
    return engine, port


def handshake(port: int, version: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", f"-{version}", "-brief", *extra],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_tls_listener_speaks_tls_1_2_and_a_call_goes_over_it(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    key, cert = certificate
    callee, tls_port = tls_engine(tmp_path, "callee", key, cert)
    caller, _ = tls_engine(tmp_path, "caller", key, cert)
    try:
        ok = handshake(tls_port, "tls1_2")
        assert ok.returncode == 0, ok
        assert "TLSv1.2" in ok.stdout + ok.stderr, ok
        reply = caller.command("dial", number=f"sip:agent@127.0.0.1:{tls_port};transport=tls")
        assert reply["ok"], reply
        incoming = callee.wait_event("call.incoming")["call"]
        assert callee.command("answer", call=incoming["id"])["ok"]
        caller.wait_event("call.state", call_id=reply["result"]["call_id"], state="active")
        assert caller.command("hangup", call=reply["result"]["call_id"])["ok"]
        assert callee.wait_event("call.ended")["ended_by"] == "caller"
    finally:
        assert caller.stop() == 0
        assert callee.stop() == 0


def test_the_listener_speaks_tls_1_3_too_and_only_1_3_when_asked(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    key, cert = certificate
    both, both_port = tls_engine(tmp_path, "both", key, cert)
    only, only_port = tls_engine(tmp_path, "only13", key, cert, version="1.3")
    try:
        for port, version, protocol in [
            (both_port, "tls1_3", "TLSv1.3"),
            (both_port, "tls1_2", "TLSv1.2"),
            (only_port, "tls1_3", "TLSv1.3"),
        ]:
            done = handshake(port, version)
            assert done.returncode == 0, done
            assert protocol in done.stdout + done.stderr, done
        refused = handshake(only_port, "tls1_2")
        assert refused.returncode != 0, refused
        # A client willing to speak TLS 1.1 (OpenSSL 3 refuses it by default): the server must.
        old = handshake(both_port, "tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
        assert old.returncode != 0, old
    finally:
        assert both.stop() == 0
        assert only.stop() == 0


@pytest.mark.parametrize(
    ("version", "message"),
    [("1.1", "weaker than TLS 1.2"), ("1.0", "weaker than TLS 1.2")],
)
def test_tls_versions_older_than_1_2_are_refused_clearly(
    tmp_path: Path, version: str, message: str
) -> None:
    config = tmp_path / "tls.yaml"
    config.write_text(f"sip:\n  tls:\n    port: 5999\n    version: '{version}'\n")
    engine = EngineProcess(tmp_path, "--config", str(config))
    assert engine.proc.wait(30) == 2
    err = engine.stderr()
    assert message in err
    assert "sip.tls.version" in err
    assert "Traceback" not in err


# ---------------------------------------------------------------- a TLS registrar


@dataclass(frozen=True)
class Pki:
    """The test CA, what it signed, and certificates it did not sign."""

    ca: Certificate
    """The CA the engines trust (``sip.tls.ca_file``)."""
    registrar: Certificate
    """Kamailio's certificate for 127.0.0.1, signed by ``ca``."""
    agent: Certificate
    """The engines' own certificate (Kamailio connects to their TLS listener), signed by ``ca``."""
    impostor: Certificate
    """A certificate for 127.0.0.1 signed by another CA."""
    wrong_name: Certificate
    """Signed by ``ca``, but issued to registrar.example, not 127.0.0.1."""


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """Certificates made with openssl for this test only."""
    where = tmp_path / "pki"
    ca = make_ca(where, "careline")
    other = make_ca(where, "other")
    return Pki(
        ca=ca,
        registrar=issue(ca, where, "registrar"),
        agent=issue(ca, where, "agent"),
        impostor=issue(other, where, "impostor"),
        wrong_name=issue(ca, where, "wrong-name", host="registrar.example"),
    )


def tls_kamailio(tmp_path: Path, pki: Pki, presented: Certificate) -> Kamailio:
    """Kamailio on UDP/TCP and TLS 1.2, presenting ``presented``; agent and nurse may register."""
    return Kamailio(
        tmp_path,
        users={"agent": "secret", "nurse": "secret"},
        tls=TlsIdentity(presented.cert, presented.key, pki.ca.cert),
    )


@pytest.fixture
def kamailio(tmp_path: Path, pki: Pki) -> Iterator[Kamailio]:
    """Kamailio presenting a certificate the engines can verify."""
    with tls_kamailio(tmp_path, pki, pki.registrar) as k:
        yield k


def tls_account(
    tmp_path: Path,
    kamailio: Kamailio,
    pki: Pki,
    user: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    srtp: str = "off",
    via_proxy: bool = False,
    verify: bool = True,
    ca_file: Path | None = None,
) -> EngineProcess:
    """An engine registering ``user`` at ``kamailio`` over TLS (``verify``: check its certificate
    against ``ca_file``, by default the test CA)."""
    monkeypatch.setenv("CARELINE_SIP_PASSWORD", "secret")
    config = tmp_path / f"{user}.yaml"
    proxy = f"    outbound_proxy: '{kamailio.tls_uri()}'\n" if via_proxy else ""
    config.write_text(
        "sip:\n"
        f"  srtp: '{srtp}'\n"
        "  tls:\n"
        f"    port: {free_udp_tcp_port()}\n"
        f"    cert_file: {pki.agent.cert}\n"
        f"    key_file: {pki.agent.key}\n"
        f"    ca_file: {ca_file or pki.ca.cert}\n"
        f"    verify_server: {'true' if verify else 'false'}\n"
        "  account:\n"
        f"    registrar: '{kamailio.tls_uri()}'\n"
        f"    user: {user}\n"
        "    domain: careline.test\n"
        "    expires: 60\n"
        "    retry_interval: 5\n"
        "    transport: tls\n"
        f"{proxy}"
    )
    engine = EngineProcess(tmp_path, "--config", str(config))
    engine.wait_event("engine.ready", timeout=20)
    return engine


def test_registers_over_tls_1_2_verifying_the_registrar_and_takes_a_call_over_it(
    tmp_path: Path, pki: Pki, kamailio: Kamailio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kamailio speaks TLS 1.2 and refuses 1.3 on that port: the registration below is 1.2.
    assert "TLSv1.2" in str(handshake(kamailio.tls_port, "tls1_2")), kamailio.log_tail()
    assert handshake(kamailio.tls_port, "tls1_3").returncode != 0

    engine = tls_account(tmp_path, kamailio, pki, "agent", monkeypatch)
    try:
        registered = engine.wait_event("registration", state="registered", timeout=15)
        assert registered["code"] == 200
        assert registered["registrar"] == kamailio.tls_uri()
        contacts = kamailio.wait_registered("agent")
        assert all("transport=TLS" in contact for contact in contacts), contacts
        assert "REGISTER agent saved, received over tls" in kamailio.log_tail(60)

        # A caller on plain UDP; Kamailio hands the call to the agent over the TLS connection.
        sipp = kamailio.caller(tmp_path, "agent", "Secure Patient", "+15550142")
        incoming = engine.wait_event("call.incoming")["call"]
        assert incoming["caller"]["display_name"] == "Secure Patient"
        assert "transport=TLS" in incoming["called_uri"]
        assert engine.command("answer", call=incoming["id"])["ok"]
        assert engine.wait_event("call.ended")["ended_by"] == "caller"
        assert sipp.wait() == 0, sipp.report()
        assert "INVITE to agent routed to sip:agent@127.0.0.1:" in kamailio.log_tail(60)
    finally:
        assert engine.stop() == 0, engine.log_tail()
    assert kamailio.registered_contacts("agent") == []  # unregistered over TLS on the way out


@pytest.mark.parametrize("presented", ["impostor", "wrong_name"])
def test_a_registrar_certificate_that_cannot_be_verified_fails_registration(
    tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch, presented: str
) -> None:
    with tls_kamailio(tmp_path, pki, getattr(pki, presented)) as kamailio:
        engine = tls_account(tmp_path, kamailio, pki, "agent", monkeypatch)
        try:
            failed = engine.wait_event("registration", state="failed", timeout=15)
            assert "PJSIP_TLS_ECERTVERIF" in failed["sip_reason"], failed
            assert failed["detail"].startswith(
                "TLS certificate not trusted: the registrar's certificate could not be verified"
            ), failed
            assert "check sip.tls.ca_file" in failed["detail"]
            assert failed["retry_in"] == 5
            status = engine.command("status")["result"]["registration"]
            assert status["state"] == "failed"
            assert kamailio.registered_contacts("agent") == []
            # Nothing of the REGISTER got through the failed handshake.
            assert "REGISTER agent saved" not in kamailio.log_tail(200)
        finally:
            assert engine.stop() == 0, engine.log_tail()


@pytest.mark.parametrize(
    ("verify", "trust_other_ca"), [(False, False), (True, True)], ids=["unchecked", "trusted"]
)
def test_the_same_certificates_are_accepted_when_they_are_trusted_or_not_checked(
    tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch, verify: bool, trust_other_ca: bool
) -> None:
    # The controls for the test above: the refusal comes from verification itself.
    ca_file = pki.impostor.cert.parent / "other-ca.pem" if trust_other_ca else None
    with tls_kamailio(tmp_path, pki, pki.impostor) as kamailio:
        agent = tls_account(
            tmp_path, kamailio, pki, "agent", monkeypatch, verify=verify, ca_file=ca_file
        )
        try:
            assert agent.wait_event("registration", timeout=15)["state"] == "registered"
        finally:
            assert agent.stop() == 0, agent.log_tail()


def test_srtp_mandatory_call_between_two_engines_through_the_tls_registrar(
    tmp_path: Path, pki: Pki, kamailio: Kamailio, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = tls_account(tmp_path, kamailio, pki, "agent", monkeypatch, srtp="mandatory")
    nurse = tls_account(
        tmp_path, kamailio, pki, "nurse", monkeypatch, srtp="mandatory", via_proxy=True
    )
    try:
        agent.wait_event("registration", state="registered", timeout=15)
        nurse.wait_event("registration", state="registered", timeout=15)
        reply = nurse.command("dial", number="sip:agent@careline.test")
        assert reply["ok"], reply
        call_id = reply["result"]["call_id"]
        incoming = agent.wait_event("call.incoming")["call"]
        assert agent.command("answer", call=incoming["id"])["ok"]
        nurse.wait_event("call.state", call_id=call_id, state="active")
        agent.wait_event("call.state", call_id=incoming["id"], state="active")
        # The offer the proxy relayed carried SDES keys (inside TLS: only it can see them).
        log = kamailio.log_tail(80)
        assert "INVITE to agent over tls offers SRTP (SDES)" in log
        assert ";transport=TLS" in log.split("INVITE to agent routed to ", 1)[1].split("\n")[0]
        assert nurse.command("hangup", call=call_id)["ok"]
        assert agent.wait_event("call.ended")["ended_by"] == "caller"
    finally:
        assert nurse.stop() == 0, nurse.log_tail()
        assert agent.stop() == 0, agent.log_tail()


# ---------------------------------------------------------------- SRTP policy


def test_a_plain_rtp_offer_under_srtp_mandatory_is_refused_with_a_clear_reason(
    tmp_path: Path,
) -> None:
    with engine_with(tmp_path, "sip:\n  srtp: mandatory\n") as engine:
        sipp = Sipp(
            tmp_path,
            "uac_expect_not_acceptable.xml",
            engine.port,
            callers=[("Plain Caller", "+15550177")],
        )
        assert sipp.wait() == 0, sipp.report()  # 488 Not Acceptable Here
        away = engine.wait_event("call.turned_away")
        assert away["reason"] == "not_encrypted"
        assert away["sip_status"] == 488
        assert away["caller"]["display_name"] == "Plain Caller"
        assert "unencrypted" in away["detail"]
        assert not [e for e in engine.events if e["event"] == "call.incoming"]


def test_the_same_plain_rtp_offer_rings_when_srtp_is_optional(tmp_path: Path) -> None:
    # The control for the test above: the refusal comes from the policy, not the offer.
    with engine_with(tmp_path, "sip:\n  srtp: optional\n") as engine:
        sipp = Sipp(tmp_path, "uac_expect_busy.xml", engine.port)
        assert engine.command("reject", call=wait_incoming(engine, sipp))["ok"]
        finish(sipp)
        assert not [e for e in engine.events if e["event"] == "call.turned_away"]


def test_an_srtp_offer_under_srtp_mandatory_is_answered_with_srtp(tmp_path: Path) -> None:
    with engine_with(tmp_path, "sip:\n  srtp: mandatory\n") as engine:
        # The scenario checks the 200's SDP: RTP/SAVP and an SDES key of the engine's own.
        sipp = Sipp(tmp_path, "uac_srtp_offer.xml", engine.port)
        assert engine.command("answer", call=wait_incoming(engine, sipp))["ok"]
        assert engine.wait_event("call.ended")["ended_by"] == "caller"
        finish(sipp)
