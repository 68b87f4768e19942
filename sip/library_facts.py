# SPDX-License-Identifier: GPL-2.0-or-later
"""What the loaded pjsua2 says about itself: the hardened build's facts, its TLS versions.

Asked both while the library starts (:mod:`sip.library`) and when it is
reported (:mod:`sip.library_report`); neither imports the other for it. Like the
report, this module imports pjsua2 only inside the functions that ask the library.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    import pjsua2 as pj

TLS13_SUITES = frozenset({0x1301, 0x1302, 0x1303})
"""IANA ids of the suites that exist only in TLS 1.3 (TLS_AES_128_GCM_SHA256 …):
the library can speak 1.3 when it lists one."""


def build_facts() -> dict[str, Any]:
    """The hardened build's recorded facts, or an empty dict for any other pjsua2."""
    import pjsua2 as pj

    facts = getattr(pj, "BUILD", None)
    return dict(facts) if isinstance(facts, dict) else {}


def compiled_max_calls() -> int | None:
    """``PJSUA_MAX_CALLS`` as the hardened build compiled it (its recorded ``config_site``),
    or None when the build recorded no plain number for it (any other pjsua2)."""
    config_site = build_facts().get("config_site")
    if not isinstance(config_site, str):
        return None
    for line in config_site.splitlines():
        words = line.split()
        if words[:2] == ["#define", "PJSUA_MAX_CALLS"] and len(words) == 3 and words[2].isdigit():
            return int(words[2])
    return None


def tls_versions(ep: pj.Endpoint) -> list[str]:
    """The TLS versions the library can speak (1.2 always; 1.3 when its suites exist)."""
    import pjsua2 as pj

    try:
        ciphers = {int(cipher) for cipher in ep.utilSslGetAvailableCiphers()}
    except pj.Error:
        return []
    return ["1.2", "1.3"] if ciphers & TLS13_SUITES else ["1.2"]
