# SPDX-License-Identifier: GPL-2.0-or-later
"""The TLS transport's files: CA, certificate (and its expiry), private key."""

from __future__ import annotations

import os
import ssl
import stat
from datetime import UTC, datetime
from pathlib import Path

from console.core.config import CarelineConfig
from console.doctor.check import Check


async def check_tls(config: CarelineConfig) -> Check:
    tls = config.sip.tls
    if tls is None:
        return Check("tls", "skip", "no TLS transport configured (sip.tls)")
    problems: list[tuple[str, str]] = []
    facts: list[str] = []
    for setting, value in (("ca_file", tls.ca_file), ("cert_file", tls.cert_file)):
        if value is None:
            continue
        path = value.expanduser()
        if not os.access(path, os.R_OK):
            problems.append((f"sip.tls.{setting} {path} is missing or unreadable", f"check {path}"))
    if tls.cert_file is not None and os.access(tls.cert_file.expanduser(), os.R_OK):
        path = tls.cert_file.expanduser()
        expires = _not_after(path)
        if expires is None:
            problems.append((f"cannot read a certificate from {path}", "check it is a PEM file"))
        else:
            left = (expires - datetime.now(UTC)).total_seconds() / 86400
            facts.append(f"certificate expires {expires:%Y-%m-%d}")
            if left < 0:
                problems.append((f"{path} expired on {expires:%Y-%m-%d}", "renew the certificate"))
            elif left < 14:
                facts.append(f"only {int(left)} day(s) left")
    if tls.key_file is not None:
        path = tls.key_file.expanduser()
        try:
            info = path.stat()
        except OSError:
            problems.append((f"sip.tls.key_file {path} is missing", f"check {path}"))
        else:
            if stat.S_IMODE(info.st_mode) & 0o077:
                problems.append(
                    (
                        f"{path} is {stat.S_IMODE(info.st_mode):04o}: others can read the key",
                        f"chmod 600 {path}",
                    )
                )
            elif not os.access(path, os.R_OK):
                problems.append((f"{path} is not readable", f"check the owner of {path}"))
    if problems:
        return Check(
            "tls", "fail", "; ".join(p for p, _ in problems), "; ".join(f for _, f in problems)
        )
    text = f"port {tls.port}" + (f", {', '.join(facts)}" if facts else "")
    if any(fact.startswith("only") for fact in facts):
        return Check("tls", "warn", text, "renew the certificate soon")
    return Check("tls", "ok", text)


def _not_after(path: Path) -> datetime | None:
    """The certificate's expiry, through the ssl module's PEM decoder."""
    decode = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if decode is None:
        return None
    try:
        info = decode(str(path))
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(info["notAfter"]), UTC)
    except (OSError, ValueError, KeyError, ssl.SSLError):
        return None
