# SPDX-License-Identifier: GPL-2.0-or-later
"""Untrusted text: SIP header parsing and safe rendering."""

from __future__ import annotations

import pytest

from console.core.text import caller_label, safe_text
from sip.sipmsg import caller_of, network_text, parse_name_addr, request_uri

INVITE = (
    "INVITE sip:queue@127.0.0.1:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
    'f: "Jo \\"JJ\\" Smith" <sip:+15550100@example.org>;tag=1\r\n'
    "To: <sip:queue@127.0.0.1>\r\n"
    "X-Long: a\r\n  continued\r\n"
    "\r\n"
    "v=0\r\n"
)


def test_from_with_escaped_quotes_and_compact_header() -> None:
    party = caller_of(INVITE)
    assert party.display_name == 'Jo "JJ" Smith'
    assert party.number == "+15550100"
    assert party.uri == "sip:+15550100@example.org"
    assert request_uri(INVITE) == "sip:queue@127.0.0.1:5070"


def test_p_asserted_identity_wins_over_from() -> None:
    raw = INVITE.replace("X-Long", "P-Asserted-Identity: <tel:+15550999>\r\nX-Long")
    party = caller_of(raw)
    assert party.number == "+15550999"
    assert party.display_name == 'Jo "JJ" Smith'  # PAI has none: From's is kept


@pytest.mark.parametrize(
    ("value", "name", "number"),
    [
        ("Bob <sip:200@h>", "Bob", "200"),
        ("sip:300@h;tag=x", "", "300"),
        ('"unterminated <sip:1@h>', "unterminated <sip:1@h>", ""),
        ("", "", ""),
        ("<>", "", ""),
    ],
)
def test_name_addr_never_raises(value: str, name: str, number: str) -> None:
    party = parse_name_addr(value)
    assert (party.display_name, party.number) == (name, number)


def test_garbage_messages_do_not_raise() -> None:
    for raw in ("", "\x00\xff", "INVITE\r\n:::\r\n\r\n", "A B C\nFrom\n"):
        caller_of(raw)
        request_uri(raw)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("[b]x[/b]", "[b]x[/b]"),
        ("\x1b[31mred", "\ufffd[31mred"),
        ("a\u202eb\u2066c", "abc"),
        ("tab\tnew\nline", "tab new line"),
        ("\x9bC1", "\ufffdC1"),
    ],
)
def test_safe_text(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown


def test_long_and_wide_text_is_cut_by_cells() -> None:
    assert safe_text("x" * 100, 10) == "x" * 9 + "…"
    cut = safe_text("病院" * 20, 9)
    assert cut.endswith("…")
    assert len(cut) == 5


def test_caller_label_falls_back() -> None:
    assert caller_label("", "+1555") == "+1555"
    assert caller_label("", "") == "Unknown caller"


def test_network_text_replaces_what_was_not_utf8() -> None:
    assert network_text("Dr \udcff\udcfe Evil") == "Dr \ufffd\ufffd Evil"
    assert network_text("Ana María Núñez") == "Ana María Núñez"
    assert network_text("plain") == "plain"
    # A valid sequence split into surrogate-escaped bytes is put back together.
    assert network_text("\udcc3\udca9") == "é"
