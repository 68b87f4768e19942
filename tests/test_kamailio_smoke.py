"""A real Kamailio on 127.0.0.1 as registrar + proxy, driven by SIPp: the helper works."""

from __future__ import annotations

from pathlib import Path

from tests.kamailio import Kamailio, SippProcess, digest_register, live_group_members
from tests.support import Sipp


def test_register_with_the_right_password(tmp_path: Path) -> None:
    kamailio = Kamailio(tmp_path, users={"agent": "secret", "nurse": "n1ght"})
    kamailio.start()
    try:
        assert kamailio.registered_contacts("agent") == []
        sipp = SippProcess(
            tmp_path,
            "uac_register.xml",
            remote_port=kamailio.port,
            service="agent",
            auth=("agent", "secret"),
            timeout=5,
        )
        assert sipp.wait(10) == 0, f"{sipp.report()}\n{kamailio.log_tail()}"
        assert kamailio.registered_contacts("agent") == [f"sip:agent@127.0.0.1:{sipp.port}"]
        assert kamailio.registered_contacts("nurse") == []
    finally:
        code = kamailio.stop()
    assert code == 0, kamailio.log_tail()


def test_wrong_password_or_unknown_user_is_forbidden(tmp_path: Path) -> None:
    with Kamailio(tmp_path) as kamailio:
        for user, password in (("agent", "not-the-secret"), ("stranger", "secret")):
            sipp = SippProcess(
                tmp_path,
                "uac_register_kamailio_forbidden.xml",
                remote_port=kamailio.port,
                service=user,
                auth=(user, password),
                timeout=5,
            )
            assert sipp.wait(10) == 0, f"{user}: {sipp.report()}\n{kamailio.log_tail()}"
        assert kamailio.registered_contacts("agent") == []
        assert "REGISTER agent failed authentication (-2)" in kamailio.log_tail()


def test_sha256_digest(tmp_path: Path) -> None:
    # SIPp 3.6.1 cannot answer SHA-256 ("authentication must use MD5 or AKAv1-MD5"):
    # it checks the challenge; the Python digest client does the registration.
    with Kamailio(tmp_path, algorithm="SHA-256") as kamailio:
        sipp = SippProcess(
            tmp_path,
            "uac_register_kamailio_sha256_challenge.xml",
            remote_port=kamailio.port,
            service="agent",
            timeout=5,
        )
        assert sipp.wait(10) == 0, f"{sipp.report()}\n{kamailio.log_tail()}"

        contact = "sip:agent@127.0.0.1:5999"
        wrong = digest_register(kamailio.port, "agent", "nope", contact=contact)
        assert wrong.status == 403
        right = digest_register(kamailio.port, "agent", "secret", contact=contact)
        assert "algorithm=SHA-256" in right.challenge
        assert right.status == 200, kamailio.log_tail()
        assert kamailio.registered_contacts("agent") == [contact]

    # The same check fails against an MD5 registrar: it really looks at the header.
    with Kamailio(tmp_path) as kamailio:
        sipp = SippProcess(
            tmp_path,
            "uac_register_kamailio_sha256_challenge.xml",
            remote_port=kamailio.port,
            service="agent",
            timeout=5,
        )
        assert sipp.wait(10) != 0
        assert "Failed regexp match" in sipp.report()


def test_call_to_a_registered_user_goes_through_kamailio(tmp_path: Path) -> None:
    with Kamailio(tmp_path) as kamailio:
        register = SippProcess(
            tmp_path,
            "uac_register.xml",
            remote_port=kamailio.port,
            service="agent",
            auth=("agent", "secret"),
            timeout=5,
        )
        assert register.wait(10) == 0, f"{register.report()}\n{kamailio.log_tail()}"
        # The agent's phone: a SIPp UAS on the port its REGISTER put in Contact.
        callee = SippProcess(tmp_path, "uas_kamailio.xml", port=register.port, timeout=8)
        try:
            callee.wait_listening()
            caller = Sipp(
                tmp_path, "uac_call_kamailio.xml", kamailio.port, service="agent", timeout=8
            )
            assert caller.wait(12) == 0, f"{caller.report()}\n{kamailio.log_tail()}"
            assert callee.wait(12) == 0, f"{callee.report()}\n{kamailio.log_tail()}"
        finally:
            callee.stop()
        assert f"INVITE to agent routed to sip:agent@127.0.0.1:{register.port}" in (
            kamailio.log_tail()
        )


def test_kill_leaves_nothing_behind(tmp_path: Path) -> None:
    kamailio = Kamailio(tmp_path)
    kamailio.start()
    assert kamailio.proc is not None
    pid = kamailio.proc.pid
    assert len(live_group_members(pid)) > 1  # the main process and its children
    kamailio.kill()
    assert not kamailio.running
    assert live_group_members(pid) == []
    assert not kamailio.ping(0.3)
