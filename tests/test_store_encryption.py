# SPDX-License-Identifier: GPL-2.0-or-later
"""Encryption at rest: a SQLCipher store, its key from config, and every way it can go wrong.

Real SQLCipher throughout: the assertions read the raw bytes of the database
and of its WAL, as someone who copied the files would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.core.config import ConfigError, load_config, store_key
from console.core.store import Store, StoreError, StoreKey
from tests.careline_cli import careline

MARKER = "ZEPHYRINE-QUASAR-7731"
"""A string that appears in the raw bytes only if the data is stored in plaintext."""
KEY = StoreKey("correct horse battery staple", source="test key")


def marked_call(call_id: str = "c1") -> dict[str, object]:
    """A protocol call object whose caller name carries the marker."""
    return {
        "id": call_id,
        "direction": "inbound",
        "caller": {"display_name": f"{MARKER} caller", "number": "+12025550142", "uri": "sip:x@h"},
        "called_uri": "sip:queue@h",
        "received_at": "2026-01-01T10:00:00.000Z",
        "timeline": [],
    }


async def write_marked(store: Store) -> None:
    """A finished call with the marker in its caller name and its notes."""
    await store.call_started("agent-1", marked_call())
    await store.save_notes("c1", f"notes about {MARKER}")
    await store.call_ended(
        marked_call(),
        reason="hangup",
        ended_by="remote",
        sip_status=200,
        ended_at="2026-01-01T10:05:00.000Z",
    )


def raw(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


@pytest.mark.parametrize("key", [None, KEY], ids=["plaintext-control", "sqlcipher"])
async def test_database_and_wal_hold_the_marker_only_when_plaintext(
    tmp_path: Path, key: StoreKey | None
) -> None:
    path = tmp_path / "s.sqlite3"
    store = await Store.open(path, key)
    try:
        await write_marked(store)
        # While the store is open the rows sit in the WAL (not checkpointed).
        wal_bytes = raw(wal(path))
        assert len(wal_bytes) > 4096
        seen_open = MARKER.encode() in raw(path) + wal_bytes
    finally:
        await store.close()
    # Closing checkpoints the WAL into the database file.
    seen_closed = MARKER.encode() in raw(path) + raw(wal(path))

    if key is None:
        assert MARKER.encode() in wal_bytes  # the control: the check can see plaintext
        assert (seen_open, seen_closed) == (True, True)
    else:
        assert (seen_open, seen_closed) == (False, False)
        assert not raw(path).startswith(b"SQLite format 3")
        assert raw(path)  # the check above did not pass on an empty file


async def test_encrypted_store_keeps_wal_full_and_0600(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = await Store.open(path, KEY)
    try:
        cursor = await store._writer.execute("PRAGMA journal_mode")
        assert await cursor.fetchone() == ("wal",)
        cursor = await store._writer.execute("PRAGMA synchronous")
        assert await cursor.fetchone() == (2,)  # FULL
    finally:
        await store.close()
    assert path.stat().st_mode & 0o777 == 0o600


async def test_reopening_with_the_right_key_reads_the_data_back(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = await Store.open(path, KEY)
    await write_marked(store)
    await store.close()

    again = await Store.open(path, StoreKey(KEY.passphrase, source="another source"))
    try:
        [row] = await again.recent_calls(10)
    finally:
        await again.close()
    assert (row.caller_name, row.notes) == (f"{MARKER} caller", f"notes about {MARKER}")


async def test_wrong_key_is_a_clear_error_without_the_key(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = await Store.open(path, KEY)
    await write_marked(store)
    await store.close()

    wrong = StoreKey("correct horse battery stapler", source="environment variable STORE_KEY")
    with pytest.raises(StoreError) as caught:
        await Store.open(path, wrong)

    message = str(caught.value)
    assert message == (
        f"the local store {path} is encrypted and the key from environment variable "
        "STORE_KEY does not open it (a wrong key, or a damaged file)"
    )
    assert wrong.passphrase not in message
    assert KEY.passphrase not in message


async def test_encrypted_store_opened_without_a_key_says_so(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = await Store.open(path, KEY)
    await store.close()
    with pytest.raises(StoreError, match=r"is not a plain SQLite database: it is encrypted"):
        await Store.open(path)


async def test_plaintext_store_opened_with_a_key_says_so(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = await Store.open(path)
    await write_marked(store)
    await store.close()
    with pytest.raises(StoreError, match=r"is not encrypted but store.encryption is set"):
        await Store.open(path, KEY)
    # Refusing did not touch the plaintext store.
    store = await Store.open(path)
    try:
        assert len(await store.recent_calls(10)) == 1
    finally:
        await store.close()


async def test_keys_with_quotes_are_passed_whole(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    tricky = StoreKey("it's \"x'00'\"; --", source="test")
    store = await Store.open(path, tricky)
    await write_marked(store)
    await store.close()

    # A key cut at the quote (what unescaped SQL would have used) does not open it.
    with pytest.raises(StoreError, match="does not open it"):
        await Store.open(path, StoreKey("it", source="test"))
    store = await Store.open(path, tricky)
    try:
        assert len(await store.recent_calls(10)) == 1
    finally:
        await store.close()


def test_store_key_never_shows_the_passphrase() -> None:
    assert KEY.passphrase not in repr(KEY)
    assert KEY.passphrase not in str(KEY)
    assert KEY.passphrase not in f"{KEY}"
    with pytest.raises(ValueError, match="empty"):
        StoreKey("", source="test")


def test_default_config_is_plaintext() -> None:
    assert store_key(load_config(environ={}), environ={}) is None


def test_key_from_an_environment_variable(tmp_path: Path) -> None:
    user = tmp_path / "careline.yaml"
    user.write_text("store:\n  encryption:\n    key_env: CARELINE_STORE_KEY\n", encoding="utf-8")
    config = load_config(user, environ={})

    key = store_key(config, environ={"CARELINE_STORE_KEY": "s3cret passphrase"})

    assert key is not None
    assert key.passphrase == "s3cret passphrase"
    assert key.source == "environment variable CARELINE_STORE_KEY"
    with pytest.raises(
        ConfigError, match=r"^store.encryption.key_env: .*CARELINE_STORE_KEY is not"
    ):
        store_key(config, environ={})
    with pytest.raises(ConfigError, match=r"^store.encryption.key_env: the key in .* is empty$"):
        store_key(config, environ={"CARELINE_STORE_KEY": "  "})


def test_key_from_a_0600_file(tmp_path: Path) -> None:
    key_file = tmp_path / "store.key"
    key_file.write_text("file passphrase\n", encoding="utf-8")
    key_file.chmod(0o600)
    config = load_config(
        environ={"CARELINE_STORE__ENCRYPTION": f"{{key_file: '{key_file}'}}"},
    )

    key = store_key(config, environ={})

    assert key is not None
    assert (key.passphrase, key.source) == ("file passphrase", f"key file {key_file}")


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "store.key"
    key_file.write_text("file passphrase\n", encoding="utf-8")
    key_file.chmod(0o644)
    config = load_config(environ={"CARELINE_STORE__ENCRYPTION": f"{{key_file: '{key_file}'}}"})

    with pytest.raises(ConfigError) as caught:
        store_key(config, environ={})

    assert str(caught.value) == (
        f"store.encryption.key_file: {key_file} must be yours and mode 0600 "
        f"(it is 0644); run: chmod 600 {key_file}"
    )


def test_empty_key_file_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "store.key"
    key_file.write_text("\n", encoding="utf-8")
    key_file.chmod(0o600)
    config = load_config(environ={"CARELINE_STORE__ENCRYPTION": f"{{key_file: '{key_file}'}}"})
    with pytest.raises(ConfigError, match=r"^store.encryption.key_file: the key in key file"):
        store_key(config, environ={})


def test_both_key_sources_is_a_config_error(tmp_path: Path) -> None:
    user = tmp_path / "careline.yaml"
    user.write_text(
        "store:\n  encryption:\n    key_env: K\n    key_file: /tmp/k\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(user, environ={})
    assert str(caught.value) == (
        f"{user}: line 2: store.encryption: set key_env or key_file, not both"
    )


def test_cli_patients_import_and_lookup_on_an_encrypted_store(tmp_path: Path) -> None:
    store = tmp_path / "enc.sqlite3"
    user = tmp_path / "careline.yaml"
    user.write_text(
        f"store:\n  path: '{store}'\n  encryption:\n    key_env: CARELINE_TEST_STORE_KEY\n",
        encoding="utf-8",
    )
    patients = tmp_path / "p.csv"
    patients.write_text(f"mrn,family,phone\n{MARKER},Lee,202 555 0142\n", encoding="utf-8")
    good = {"CARELINE_TEST_STORE_KEY": "cli passphrase"}

    imported = careline("--config", str(user), "patients", "import", str(patients), env=good)
    found = careline("--config", str(user), "patients", "lookup", "202 555 0142", env=good)
    wrong = careline(
        "--config", str(user), "patients", "lookup", "202 555 0142",
        env={"CARELINE_TEST_STORE_KEY": "not the passphrase"},
    )  # fmt: skip
    unset = careline("--config", str(user), "patients", "lookup", "202 555 0142")

    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == f"{patients}: 1 imported, 0 updated, 0 rejected\n"
    assert found.returncode == 0, found.stderr
    assert MARKER in found.stdout
    assert MARKER.encode() not in raw(store) + raw(wal(store))
    assert wrong.returncode == 1
    assert wrong.stderr == (
        f"careline: the local store {store} is encrypted and the key from environment "
        "variable CARELINE_TEST_STORE_KEY does not open it (a wrong key, or a damaged file)\n"
    )
    assert unset.returncode == 2
    assert unset.stderr == (
        "careline: store.encryption.key_env: environment variable CARELINE_TEST_STORE_KEY "
        "is not set (it holds the store's key)\n"
    )
