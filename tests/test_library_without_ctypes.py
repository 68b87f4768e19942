# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine learns its call slots and OpenSSL version without ctypes (issue 17), and the
answers are the ones the library gives when asked through ctypes.

The hardened build records its ``config_site``, so ``PJSUA_MAX_CALLS`` is known without
calling ``pjsua_call_get_max_count``; the OpenSSL version text is read from the loaded
libcrypto's file rather than returned by its ``OpenSSL_version(0)``.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sip.library_facts as library_facts
import sip.library_report as library_report
from sip.library_facts import build_facts, compiled_max_calls
from tests.support import ROOT

ASK_BOTH_WAYS = """
import json, pjsua2 as pj
from sip.library import endpoint_config, exported_call_slots, library_call_slots
from sip.settings import EngineSettings
ep = pj.Endpoint()
ep.libCreate()
ep.libInit(endpoint_config(EngineSettings(log_level=0)))
print(json.dumps([library_call_slots(), exported_call_slots()]))
ep.libDestroy()
"""
"""A fresh process: the call slots from the build's record, then from pjsua itself."""


@pytest.mark.skipif(not build_facts(), reason="only the hardened build records its cap")
def test_the_recorded_call_slots_are_the_ones_pjsua_reports() -> None:
    done = subprocess.run(
        [sys.executable, "-c", ASK_BOTH_WAYS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    recorded, asked = json.loads(done.stdout.splitlines()[-1])
    assert recorded == asked == 32


@pytest.mark.parametrize(
    ("config_site", "expected"),
    [
        ("/* calls */\n#define PJSUA_MAX_CALLS 32\n#define PJ_IOQUEUE_MAX_HANDLES 1024\n", 32),
        ("#define  PJSUA_MAX_CALLS   8 \n", 8),
        ("#define PJSUA_MAX_CALLS (4 * 8)\n", None),  # not a plain number: pjsua is asked
        ("#define PJSUA_MAX_CALLS_X 8\n", None),
        (None, None),
    ],
)
def test_the_cap_is_read_only_from_a_plain_define(
    monkeypatch: pytest.MonkeyPatch, config_site: str | None, expected: int | None
) -> None:
    facts = {} if config_site is None else {"config_site": config_site}
    monkeypatch.setattr(library_facts, "build_facts", lambda: facts)
    assert compiled_max_calls() == expected


def _asked_through_ctypes(path: str) -> str:
    lib = ctypes.CDLL(path)
    func = getattr(lib, "OpenSSL_version", None) or lib.SSLeay_version
    func.restype = ctypes.c_char_p
    func.argtypes = [ctypes.c_int]
    return str(func(0).decode(errors="replace").strip())


def test_the_openssl_version_read_is_the_one_libcrypto_returns() -> None:
    [path, *_] = library_report._libcrypto_candidates()
    assert library_report.openssl_version() == _asked_through_ctypes(path)


@pytest.mark.parametrize("offset", [0, 5, 20, 40])
def test_a_version_text_cut_by_a_read_is_still_found(tmp_path: Path, offset: int) -> None:
    # Decoys first: words after "OpenSSL " that are not a version text.
    decoys = b"\0OpenSSL default\0OpenSSL X9.42 DH method\0OpenSSL "
    padding = b"\1" * (library_report.VERSION_CHUNK - len(decoys) - offset)
    lib = tmp_path / "libcrypto.so.1.0.0"
    lib.write_bytes(decoys + padding + b"\0OpenSSL 1.0.2u  20 Dec 2019\0tail")
    assert library_report._version_text(str(lib)) == "OpenSSL 1.0.2u  20 Dec 2019"


def test_a_file_without_a_version_text_has_none(tmp_path: Path) -> None:
    lib = tmp_path / "libcrypto.so.3"
    lib.write_bytes(b"\0OpenSSL 3.0\0" * 20000 + b"OpenSSL 3.0.22 25 Aug")
    assert library_report._version_text(str(lib)) is None
