# SPDX-License-Identifier: GPL-2.0-or-later
"""Call recording: where the files go, what key protects them, whether QA gets them."""

from __future__ import annotations

import os

from console.core.config import CarelineConfig
from console.doctor.check import Check


async def check_recording(config: CarelineConfig) -> Check:
    """Skip when no queue is recorded; fail when the directory or the QA key is unusable;
    warn when the key lives beside the recordings (a plain store) or QA gets nothing."""
    from console.core.engine_settings import recordings_directory

    recording = config.recording
    queues = sorted(name for name, q in recording.queues.items() if q.mode != "off")
    if not queues:
        return Check("recording", "skip", "no queue is recorded")
    directory = recordings_directory(config)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        writable = os.access(directory, os.W_OK | os.X_OK)
    except OSError as exc:
        writable, reason = False, exc.strerror or type(exc).__name__
    else:
        reason = "not writable"
    if not writable:
        return Check(
            "recording",
            "fail",
            f"{directory}: {reason}",
            "set recording.directory to a directory of yours (created 0700)",
        )
    facts = [f"queues {', '.join(queues)}", str(directory)]
    if recording.qa_public_key is not None:
        from console.core.recordings.sealing import SealError, load_public_key

        try:
            load_public_key(recording.qa_public_key.expanduser().read_bytes())
        except (OSError, SealError) as exc:
            return Check(
                "recording",
                "fail",
                f"recording.qa_public_key: {exc}",
                "point it at the QA team's X25519 public key (PEM)",
            )
        facts.append("sealed for QA on the hub" if config.hub.dsn else "no hub: kept here")
    detail = "; ".join(facts)
    if config.store.encryption.key_env is None and config.store.encryption.key_file is None:
        return Check(
            "recording",
            "warn",
            f"{detail}; encrypted with recordings.key beside them (the store is plain)",
            "encrypt the store (store.encryption): the recordings' key then derives from it",
        )
    return Check("recording", "ok", f"{detail}; key derived from the store's key")
