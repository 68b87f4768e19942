# SPDX-License-Identifier: GPL-2.0-or-later
"""The hardened library's build script, the report of which library runs, and what follows.

Compiling takes minutes and happens once per machine (``make library``, which
``make test`` runs first); these tests check everything around it quickly.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pjsua2 as pj
import pytest

from sip import library
from sip.library_facts import build_facts
from sip.library_report import summary

ROOT = Path(__file__).resolve().parents[1]


def load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "pjproject_build", ROOT / "pjproject" / "build.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["pjproject_build"] = module
    spec.loader.exec_module(module)
    return module


build = load_build()


def test_the_suite_runs_on_the_hardened_library() -> None:
    facts = build_facts()
    assert facts, "pjsua2 is not careline's hardened build: run make library"
    assert facts["pjproject"] == "2.15.1"
    assert facts["dtls"] is True
    assert facts["patches"] == [p.name for p in build.patches()]
    assert "PJSUA_MAX_CALLS 32" in facts["config_site"]
    assert "libcrypto.so" in facts["libcrypto"]


def test_every_patch_applies_to_the_pinned_source_and_says_why(tmp_path: Path) -> None:
    tarball = build.source_tarball()  # where make library found it (checked by sha256)
    src = build.unpack(tarball, tmp_path)
    patched = (src / "pjsip/src/pjsua-lib/pjsua_call.c").read_text()
    assert patched.count("if (call->inv && call->inv->dlg) {") == 2
    wrapper = (src / "pjsip/src/pjsua2/endpoint.cpp").read_text()
    assert "if (!call->incoming_data)\n        return;" in wrapper
    assert (src / "pjlib/include/pj/config_site.h").read_text() == (
        ROOT / "pjproject" / "config_site.h"
    ).read_text()
    for source in build.LICENSES:  # the licence texts the wheel carries are in the source
        assert (src / source).stat().st_size > 500, source
    for patch in build.patches():
        why = patch.read_text().split("\n--- ", 1)[0]
        assert "Why:" in why, patch.name
        assert len(why) > 200, patch.name


def test_a_tarball_that_is_not_the_pinned_one_is_refused_with_how_to_make_it(
    tmp_path: Path,
) -> None:
    import gzip

    fake = tmp_path / build.TARBALL
    fake.write_bytes(gzip.compress(b"not pjproject"))
    with pytest.raises(build.BuildError) as caught:
        build.verify(fake)
    message = str(caught.value)
    assert hashlib.sha256(b"not pjproject").hexdigest() in message
    assert build.SHA256 in message
    assert "git archive --prefix=pjproject-2.15.1/" in message


def test_the_pin_is_of_the_tar_so_any_gzip_of_it_matches(tmp_path: Path) -> None:
    """The vendored tarball was made with gzip -9; the same tar at another level must pass."""
    import gzip

    original = build.source_tarball()
    again = tmp_path / build.TARBALL
    with gzip.open(original, "rb") as tar, gzip.open(again, "wb", compresslevel=1) as out:
        out.write(tar.read())
    assert (
        hashlib.sha256(again.read_bytes()).digest()
        != hashlib.sha256(original.read_bytes()).digest()
    )
    build.verify(again)
    (tmp_path / "not.tar.gz").write_bytes(b"plain bytes")
    with pytest.raises(build.BuildError, match="not a gzip-compressed tarball"):
        build.verify(tmp_path / "not.tar.gz")


def test_a_missing_tarball_named_by_the_environment_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PJPROJECT_TARBALL", str(tmp_path / "nowhere.tar.gz"))
    with pytest.raises(build.BuildError, match="PJPROJECT_TARBALL=.*no such file"):
        build.source_tarball()


def test_the_script_says_what_is_missing_and_exits_1(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "pjproject" / "build.py"), "--venv", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "no virtualenv at" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_cache_key_follows_what_goes_into_the_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = build.build_key("cp311")
    assert key == build.build_key("cp311")
    assert key != build.build_key("cp312")
    assert Path(str(build.__file__)).resolve() in build.inputs()  # flags and packaging live there
    changed = tmp_path / "config_site.h"
    changed.write_text((ROOT / "pjproject" / "config_site.h").read_text() + "\n#define X 1\n")
    monkeypatch.setattr(build, "inputs", lambda: [changed, *build.patches()])
    assert build.build_key("cp311") != key


def test_the_wheel_is_named_like_the_pypi_one_and_installs_cleanly(tmp_path: Path) -> None:
    built = tmp_path / "built"
    built.mkdir()
    (built / "pjsua2.py").write_text("ANSWER = 42\n")
    (built / "_pjsua2.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    wheel = tmp_path / "pjsua2_python-2.15.1.post1+careline.abc-cp311-cp311-linux_x86_64.whl"
    licenses = {"COPYING": b"GNU GENERAL PUBLIC LICENSE", "srtp-LICENSE": b"Cisco"}
    build.write_wheel(
        wheel,
        "2.15.1.post1+careline.abc",
        {p.name: p for p in built.iterdir()},
        {"dtls": True},
        licenses,
    )
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        record = archive.read("pjsua2_python-2.15.1.post1+careline.abc.dist-info/RECORD").decode()
        metadata = archive.read(
            "pjsua2_python-2.15.1.post1+careline.abc.dist-info/METADATA"
        ).decode()
    assert {"pjsua2/__init__.py", "pjsua2/_careline_build.py", "pjsua2/pjsua2.py"} <= names
    assert all(name in record for name in names)
    assert "Name: pjsua2-python" in metadata
    assert "License-Expression: GPL-2.0-or-later" in metadata
    # A binary distribution carries pjproject's licence and those of what it compiles in.
    dist = "pjsua2_python-2.15.1.post1+careline.abc.dist-info"
    assert {f"{dist}/licenses/COPYING", f"{dist}/licenses/srtp-LICENSE"} <= names
    assert "License-File: COPYING" in metadata
    # The project's pin (== 2.15.1.post1) accepts the local version: pip keeps it.
    from packaging.specifiers import SpecifierSet

    assert "2.15.1.post1+careline.abc" in SpecifierSet("==2.15.1.post1")


def test_the_library_summary_is_one_plain_line() -> None:
    hardened = {
        "pjsua2": "2.15.1",
        "hardened": True,
        "openssl": "OpenSSL 3.0.19 27 Jan 2026",
        "tls": ["1.2", "1.3"],
        "dtls": True,
        "call_slots": 32,
        "sound_devices": [],
    }
    assert summary(hardened) == (
        "pjsua2 2.15.1 (careline hardened) · OpenSSL 3.0.19 · TLS 1.2/1.3 · DTLS-SRTP"
        " · 32 call slots · no sound devices"
    )
    wheel = dict(hardened, hardened=False, openssl="OpenSSL 1.0.2k-fips  26 Jan 2017")
    wheel.update(tls=["1.2"], dtls=False, call_slots=4)
    assert summary(wheel).startswith("pjsua2 2.15.1 (PyPI wheel) · OpenSSL 1.0.2k-fips · TLS 1.2")
    assert summary(None) == summary("[red]x") == summary({}) == ""


def test_dtls_keying_on_a_library_without_dtls_is_a_start_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(library, "build_facts", lambda: {})
    assert list(library.srtp_keyings(())) == [pj.PJMEDIA_SRTP_KEYING_SDES]
    with pytest.raises(library.StartError, match="no DTLS-SRTP.*make library"):
        library.srtp_keyings(("dtls",))
    monkeypatch.setattr(library, "build_facts", lambda: {"dtls": True})
    order = list(library.srtp_keyings(("dtls", "sdes")))
    assert order == [pj.PJMEDIA_SRTP_KEYING_DTLS_SRTP, pj.PJMEDIA_SRTP_KEYING_SDES]
