# SPDX-License-Identifier: GPL-2.0-or-later
"""Test certificates made with the openssl CLI: a CA and the certificates it signs.

Everything is for 127.0.0.1 and lives in the test's tmp_path; nothing is reused
between tests.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class Certificate:
    """A PEM key and certificate pair."""

    key: Path
    """The private key (unencrypted)."""
    cert: Path
    """The certificate."""


def make_ca(directory: Path, name: str) -> Certificate:
    """A self-signed CA certificate called ``name`` (CN ``careline test CA name``)."""
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = directory / f"{name}-ca.key", directory / f"{name}-ca.pem"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "2",
        "-subj",
        f"/CN=careline test CA {name}",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        str(key),
        "-out",
        str(cert),
    )
    return Certificate(key, cert)


def issue(ca: Certificate, directory: Path, name: str, host: str = "127.0.0.1") -> Certificate:
    """A certificate for ``host`` (CN and an IP or DNS subjectAltName) signed by ``ca``."""
    key, csr, cert = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.pem"
    _openssl(
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={host}",
        "-keyout",
        str(key),
        "-out",
        str(csr),
    )
    san = f"IP:{host}" if host.replace(".", "").isdigit() else f"DNS:{host}"
    extensions = directory / f"{name}.ext"
    extensions.write_text(
        f"subjectAltName={san}\n"
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    _openssl(
        "x509",
        "-req",
        "-sha256",
        "-days",
        "2",
        "-in",
        str(csr),
        "-CA",
        str(ca.cert),
        "-CAkey",
        str(ca.key),
        "-CAcreateserial",
        "-extfile",
        str(extensions),
        "-out",
        str(cert),
    )
    return Certificate(key, cert)
