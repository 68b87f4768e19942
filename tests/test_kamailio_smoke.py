# SPDX-License-Identifier: GPL-2.0-or-later
"""A real Kamailio on 127.0.0.1 as registrar + proxy, driven by SIPp: the helper works."""

from __future__ import annotations

from pathlib import Path

from tests.kamailio import Kamailio, digest_register, live_group_members
from tests.support import Sipp


def register(
    tmp_path: Path, kamailio: Kamailio, scenario: str, user: str, password: str | None = None
) -> Sipp:
    """SIPp playing REGISTER ``scenario`` as ``user`` at ``kamailio``; digest when ``password``."""
    auth = None if password is None else (user, password)
    return Sipp(tmp_path, scenario, kamailio.port, service=user, auth=auth, timeout=5)


def test_register_with_the_right_password(tmp_path: Path) -> None:
    kamailio = Kamailio(tmp_path, users={"agent": "secret", "nurse": "n1ght"})
    kamailio.start()
    try:
        assert kamailio.registered_contacts("agent") == []
        sipp = register(tmp_path, kamailio, "uac_register.xml", "agent", "secret")
        assert sipp.wait(10) == 0, f"{sipp.report()}\n{kamailio.log_tail()}"
        assert kamailio.registered_contacts("agent") == [f"sip:agent@127.0.0.1:{sipp.port}"]
        assert kamailio.registered_contacts("nurse") == []
    finally:
        code = kamailio.stop()
    assert code == 0, kamailio.log_tail()


def test_wrong_password_or_unknown_user_is_forbidden(tmp_path: Path) -> None:
    with Kamailio(tmp_path) as kamailio:
        for user, password in (("agent", "not-the-secret"), ("stranger", "secret")):
            sipp = register(
                tmp_path, kamailio, "uac_register_kamailio_forbidden.xml", user, password
            )
            assert sipp.wait(10) == 0, f"{user}: {sipp.report()}\n{kamailio.log_tail()}"
        assert kamailio.registered_contacts("agent") == []
        assert "REGISTER agent failed authentication (-2)" in kamailio.log_tail()


def test_sha256_digest(tmp_path: Path) -> None:
    # SIPp 3.6.1 cannot answer SHA-256 ("authentication must use MD5 or AKAv1-MD5"):
    # it checks the challenge; the Python digest client does the registration.
    with Kamailio(tmp_path, algorithm="SHA-256") as kamailio:
        sipp = register(tmp_path, kamailio, "uac_register_kamailio_sha256_challenge.xml", "agent")
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
        sipp = register(tmp_path, kamailio, "uac_register_kamailio_sha256_challenge.xml", "agent")
        assert sipp.wait(10) != 0
        assert "Failed regexp match" in sipp.report()


def test_call_to_a_registered_user_goes_through_kamailio(tmp_path: Path) -> None:
    with Kamailio(tmp_path) as kamailio:
        registration = register(tmp_path, kamailio, "uac_register.xml", "agent", "secret")
        assert registration.wait(10) == 0, f"{registration.report()}\n{kamailio.log_tail()}"
        # The agent's phone: a SIPp UAS on the port its REGISTER put in Contact
        # (its own Contact user is SIPp's default [service], "service").
        callee = Sipp(
            tmp_path, "uas_kamailio.xml", service="service", port=registration.port, timeout=8
        )
        try:
            callee.wait_listening()
            caller = Sipp(
                tmp_path, "uac_call_kamailio.xml", kamailio.port, service="agent", timeout=8
            )
            assert caller.wait(12) == 0, f"{caller.report()}\n{kamailio.log_tail()}"
            assert callee.wait(12) == 0, f"{callee.report()}\n{kamailio.log_tail()}"
        finally:
            callee.stop()
        assert f"INVITE to agent routed to sip:agent@127.0.0.1:{registration.port}" in (
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
