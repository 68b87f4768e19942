# SPDX-License-Identifier: GPL-2.0-or-later
"""Registration through a real Kamailio registrar/proxy on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kamailio import Kamailio
from tests.support import EngineProcess


def account_config(tmp_path: Path, kamailio: Kamailio, *, transport: str = "udp") -> Path:
    """An engine config registering ``agent`` at ``kamailio``."""
    path = tmp_path / f"engine-{transport}.yaml"
    path.write_text(
        "sip:\n"
        "  transports: [udp, tcp]\n"
        "  account:\n"
        f"    registrar: sip:127.0.0.1:{kamailio.port}\n"
        "    user: agent\n"
        "    domain: careline.test\n"
        "    expires: 60\n"
        "    retry_interval: 5\n"
        f"    transport: {transport}\n"
    )
    return path


@pytest.fixture
def kamailio(tmp_path: Path) -> Iterator[Kamailio]:
    """Kamailio with user agent / secret (MD5)."""
    with Kamailio(tmp_path) as k:
        yield k


def start(
    tmp_path: Path, config: Path, password: str, monkeypatch: pytest.MonkeyPatch
) -> EngineProcess:
    monkeypatch.setenv("CARELINE_SIP_PASSWORD", password)
    engine = EngineProcess(tmp_path, "--config", str(config))
    engine.wait_event("engine.ready")
    return engine


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_registers_with_digest_and_takes_a_call_through_the_proxy(
    tmp_path: Path, kamailio: Kamailio, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    engine = start(
        tmp_path, account_config(tmp_path, kamailio, transport=transport), "secret", monkeypatch
    )
    try:
        registered = engine.wait_event("registration", state="registered")
        assert registered["code"] == 200
        assert registered["aor"] == "sip:agent@careline.test"
        contacts = kamailio.wait_registered("agent")
        if transport == "udp":
            assert any(f":{engine.port}" in contact for contact in contacts), contacts
        else:  # over TCP the Contact names the connection, and calls come back on it
            assert any("transport=TCP" in contact for contact in contacts), contacts
        status = engine.command("status")["result"]
        assert status["registration"]["state"] == "registered"

        sipp = kamailio.caller(tmp_path, "agent", "Routed Patient", "+15550123")
        incoming = engine.wait_event("call.incoming")
        assert incoming["call"]["caller"]["display_name"] == "Routed Patient"
        assert engine.command("answer", call=incoming["call"]["id"])["ok"]
        ended = engine.wait_event("call.ended")
        assert ended["ended_by"] == "caller"
        assert sipp.wait() == 0, sipp.report()
    finally:
        assert engine.stop() == 0, engine.log_tail()
    # Unregistered on the way out.
    assert kamailio.registered_contacts("agent") == []


def test_wrong_password_is_reported_as_forbidden(
    tmp_path: Path, kamailio: Kamailio, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = start(tmp_path, account_config(tmp_path, kamailio), "not-the-password", monkeypatch)
    try:
        failed = engine.wait_event("registration", state="failed")
        assert failed["code"] == 403
        assert "wrong password" in failed["detail"]
        assert failed["retry_in"] == 5
        assert kamailio.registered_contacts("agent") == []
    finally:
        assert engine.stop() == 0, engine.log_tail()


def test_sha256_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Kamailio(tmp_path, algorithm="SHA-256") as kamailio:
        engine = start(tmp_path, account_config(tmp_path, kamailio), "secret", monkeypatch)
        try:
            assert engine.wait_event("registration", state="registered")["code"] == 200
            assert kamailio.wait_registered("agent")
        finally:
            assert engine.stop() == 0, engine.log_tail()


def test_registrar_that_disappears_is_reported_and_the_phone_carries_on(
    tmp_path: Path, kamailio: Kamailio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over TCP a vanished registrar is a refused connection, seen at once; over
    # UDP the same test takes the 32 s transaction timeout (408), as it would live.
    config = account_config(tmp_path, kamailio, transport="tcp")
    engine = start(tmp_path, config, "secret", monkeypatch)
    try:
        engine.wait_event("registration", state="registered")
        kamailio.kill()
        assert engine.command("register", action="refresh")["ok"]
        failed = engine.wait_event("registration", state="failed", timeout=40)
        assert failed["code"] in (408, 503), failed
        assert engine.command("ping")["ok"]  # still serving
    finally:
        assert engine.stop() == 0, engine.log_tail()


def test_missing_account_password_file_permissions_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("secret")
    secret.chmod(0o644)
    config = tmp_path / "c.yaml"
    config.write_text(
        "sip:\n  account:\n    registrar: sip:127.0.0.1:5999\n    user: agent\n"
        f"    domain: careline.test\n    password_file: {secret}\n"
    )
    engine = EngineProcess(tmp_path, "--config", str(config))
    assert engine.proc.wait(30) == 2
    assert "must be yours and mode 0600" in engine.stderr()
