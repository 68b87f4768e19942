"""SIP over TLS 1.2 (the bundled OpenSSL 1.0.2 cannot do 1.3) and its configuration errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import EngineProcess, free_udp_port


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


def tls_engine(tmp_path: Path, name: str, key: Path, cert: Path) -> tuple[EngineProcess, int]:
    port = free_udp_port()
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        "sip:\n  tls:\n"
        f"    port: {port}\n    cert_file: {cert}\n    key_file: {key}\n    ca_file: {cert}\n"
        "    verify_server: false\n"
    )
    engine = EngineProcess(tmp_path, "--config", str(config))
    ready = engine.wait_event("engine.ready")
    assert ready["transports"]["tls"] == port
    return engine, port


def handshake(port: int, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", f"-{version}", "-brief"],
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


@pytest.mark.parametrize(
    ("version", "message"),
    [("1.3", "TLS 1.3 is not available"), ("1.1", "weaker than TLS 1.2")],
)
def test_tls_versions_other_than_1_2_are_refused_clearly(
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
