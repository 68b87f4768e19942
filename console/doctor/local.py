# SPDX-License-Identifier: GPL-2.0-or-later
"""The configuration and the local store."""

from __future__ import annotations

import stat
from pathlib import Path

from console.core.config import CarelineConfig, ConfigError, load_config
from console.doctor.check import Check, Findings


async def check_config(path: Path | None, found: Findings) -> Check:
    from console.core.config import user_config_file

    shown = path if path is not None else user_config_file()
    try:
        found.config = load_config(path)
    except ConfigError as exc:
        return Check("config", "fail", str(exc), f"correct {shown} and run careline doctor again")
    if path is None and not shown.exists():
        return Check("config", "ok", f"defaults only ({shown} does not exist)")
    return Check("config", "ok", str(shown))


# ------------------------------------------------------------------- store
_UNSENDABLE = "SELECT count(*) FROM recordings WHERE upload_failed IS NOT NULL"
"""Recordings marked as never to go to the hub (console.hub.recording_upload)."""


async def check_store(config: CarelineConfig) -> Check:
    from console.core.audit import AuditLog
    from console.core.config import store_key
    from console.core.paths import data_dir
    from console.core.store import Store, StoreError, migrations

    path = (config.store.path or data_dir() / "careline.sqlite3").expanduser()
    try:
        key = store_key(config)
    except ConfigError as exc:
        return Check("store", "fail", str(exc), "correct store.encryption or its key")
    existed = path.exists()
    mode_before = stat.S_IMODE(path.stat().st_mode) if existed else None
    try:
        store = await Store.open(path, key)
    except StoreError as exc:
        return Check(
            "store",
            "fail",
            str(exc),
            "restore the file from a backup, or move it aside to start a new store",
        )
    try:
        journal = (await store.fetch_all("PRAGMA journal_mode"))[0][0]
        version = (await store.fetch_all("PRAGMA user_version"))[0][0]
        quick = [row[0] for row in await store.fetch_all("PRAGMA quick_check")]
        verdict = await AuditLog(store).verify()
        shipped = len(migrations())
        unsent = (await store.fetch_all(_UNSENDABLE))[0][0] if version == shipped else 0
    finally:
        await store.close()
    mode_now = stat.S_IMODE(path.stat().st_mode)
    facts = [
        str(journal).upper(),
        f"{mode_now:04o}",
        f"migrations {version}/{shipped}",
        f"audit {verdict.checked} rows",
    ]
    if key is not None:
        facts.insert(0, "encrypted")
    summary = f"{path} ({', '.join(facts)})" + ("" if existed else ", created")
    if quick != ["ok"]:
        return Check(
            "store",
            "fail",
            f"{path}: integrity check failed: {'; '.join(str(q) for q in quick[:3])}",
            "stop careline, copy the file aside, and restore the store from a backup",
        )
    if not verdict.ok:
        return Check(
            "store",
            "fail",
            f"{path}: the audit chain is broken at row {verdict.bad_seq}: {verdict.reason}",
            "keep the file as evidence, tell your security officer, and run "
            "careline audit verify for the details",
        )
    if version != shipped:
        return Check(
            "store",
            "fail",
            f"{path}: schema version {version}, this careline ships {shipped}",
            "install the careline version that wrote this store",
        )
    if str(journal).lower() != "wal":
        return Check(
            "store",
            "warn",
            f"{summary}: journal mode is {journal}, not WAL",
            "close every other program that has the store open, then run careline again",
        )
    if mode_before is not None and mode_before & 0o077:
        return Check(
            "store",
            "warn",
            f"{summary}: was {mode_before:04o}, readable by others (set to 0600 now)",
            f"keep it 0600 (chmod 600 {path}); check whatever copied or restored it",
        )
    if unsent:
        return Check(
            "store",
            "warn",
            f"{summary}: {unsent} recording(s) will never go to the hub (their files gone, "
            "unreadable or altered, or the hub refused them)",
            "the console's log names each call and why; each stays on this workstation "
            "until its retention deletes it",
        )
    return Check("store", "ok", summary)
