# SPDX-License-Identifier: GPL-2.0-or-later
"""Turning the validated configuration into the engine's plain settings.

``careline engine`` validates the configuration here (the YAML file, against its models), then
:func:`exec_engine` replaces the process with the lean engine process
(``python -m sip``), which reads the settings as a plain JSON document from
a pipe: the engine keeps the same PID, stdin, stdout and stderr, and none of
the console's imports. The console, which holds a validated configuration
already, starts the lean engine directly (:func:`engine_starter`). The document
never touches the disk (it may hold the SIP password).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NoReturn

from console.core.bytecode import ENGINE_MODULES, interpreter_flags
from console.core.config import (
    CarelineConfig,
    ConfigError,
    TlsConfig,
    parse_host_port,
    read_secret,
    with_audio_mode,
)
from console.core.phone import EngineStart
from sip.settings import (
    AccountSettings,
    AudioSettings,
    DialSettings,
    EngineSettings,
    HeadsetSettings,
    QueueRecordingSettings,
    RecordingSettings,
    TlsSettings,
    settings_document,
)


def _path(value: Path | None) -> str:
    return str(value.expanduser()) if value is not None else ""


SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
"""Debian's bundle of trusted CAs (package ca-certificates)."""


def _system_ca_bundle(tls: TlsConfig) -> str:
    """Without ``ca_file``, peers are verified against the system's CAs: never against
    nothing, which would refuse every certificate with a misleading reason."""
    if not (tls.verify_server or tls.verify_client):
        return ""
    if not SYSTEM_CA_BUNDLE.is_file():
        raise ConfigError(
            f"sip.tls verifies certificates but has no ca_file, and there is no system CA "
            f"bundle ({SYSTEM_CA_BUNDLE}): set sip.tls.ca_file or install ca-certificates"
        )
    return str(SYSTEM_CA_BUNDLE)


def build_engine_settings(
    config: CarelineConfig,
    *,
    listen: str | None = None,
    auto_answer: int | None = None,
    log_path: Path | None = None,
    allow_capture: bool = False,
    library_media_defaults: bool = False,
    hold_on_answer: bool = True,
    environ: Mapping[str, str] | None = None,
) -> EngineSettings:
    """Engine settings from ``config``; ``listen``/``auto_answer`` override it (CLI flags)."""
    sip = config.sip
    try:
        host, port = parse_host_port(listen or sip.listen)
    except ValueError as exc:
        raise ConfigError(f"--listen: {exc}") from None
    answer = auto_answer if auto_answer is not None else sip.auto_answer
    if answer is not None and not (answer == 200 or 400 <= answer <= 699):
        raise ConfigError("--auto-answer: use 200 to answer, or a 4xx-6xx code to refuse")
    account = None
    if sip.account is not None:
        acc = sip.account
        account = AccountSettings(
            registrar=acc.registrar,
            user=acc.user,
            domain=acc.domain,
            auth_user=acc.auth_user,
            password=read_secret(acc, environ),
            outbound_proxy=acc.outbound_proxy,
            expires=acc.expires,
            retry_interval=acc.retry_interval,
            transport=acc.transport,
        )
        if acc.transport == "tls" and sip.tls is None:
            raise ConfigError("sip.account.transport is tls but sip.tls is not configured")
    tls = None
    if sip.tls is not None:
        tls = TlsSettings(
            port=sip.tls.port,
            min_version=sip.tls.version,
            cert_file=_path(sip.tls.cert_file),
            key_file=_path(sip.tls.key_file),
            ca_file=_path(sip.tls.ca_file) or _system_ca_bundle(sip.tls),
            verify_server=sip.tls.verify_server,
            verify_client=sip.tls.verify_client,
        )
    return EngineSettings(
        listen_host=host,
        listen_port=port,
        transports=tuple(dict.fromkeys(sip.transports)),
        tls=tls,
        srtp=sip.srtp,
        srtp_keying=tuple(dict.fromkeys(sip.srtp_keying)),
        codecs=tuple(sip.codecs),
        allow_speex_despite_dropouts=sip.allow_speex_despite_dropouts,
        account=account,
        auto_answer=answer,
        auto_answer_queues=tuple(sip.auto_answer_queues),
        busy_code=sip.busy_code,
        unavailable_code=sip.unavailable_code,
        accept_calls_in_wrap_up=sip.accept_calls_in_wrap_up,
        queue_capacity=sip.queue_capacity,
        passthrough_headers=tuple(sip.passthrough_headers),
        accept_incoming_transfer=sip.accept_incoming_transfer,
        dial=DialSettings(
            region=sip.dial.region,
            extension_pattern=sip.dial.extension_pattern,
            domain=sip.dial.domain,
            prefix=sip.dial.prefix,
        ),
        audio_source=sip.audio_source,
        audio=AudioSettings(
            mode=config.audio.mode,
            headset=HeadsetSettings(
                output_device=config.audio.headset.output_device or "",
                input_device=config.audio.headset.input_device or "",
                buffer_ms=config.audio.headset.buffer_ms,
            ),
            station_number=config.audio.station.number.strip(),
            station_answer_seconds=config.audio.station.answer_seconds,
        ),
        allow_capture=allow_capture,
        library_media_defaults=library_media_defaults,
        hold_on_answer=hold_on_answer,
        user_agent=sip.user_agent,
        log_path=str(log_path) if log_path is not None else None,
        log_level=sip.log_level,
        log_sip_messages=sip.log_sip_messages,
        recording=recording_settings(config),
    )


def recordings_directory(config: CarelineConfig) -> Path:
    """Where recordings go: as configured, else ``recordings`` beside the local store."""
    if config.recording.directory is not None:
        return config.recording.directory.expanduser()
    from console.core.paths import data_dir

    store_dir = config.store.path.expanduser().parent if config.store.path else data_dir()
    return store_dir / "recordings"


def recording_settings(config: CarelineConfig) -> RecordingSettings:
    """The engine's recording settings: the directory and each recorded queue."""
    queues = tuple(
        QueueRecordingSettings(queue=name, mode=q.mode, announcement=_path(q.announcement))
        for name, q in config.recording.queues.items()
        if q.mode != "off"
    )
    directory = str(recordings_directory(config)) if queues else ""
    return RecordingSettings(directory=directory, queues=queues)


def lean_engine_argv(
    *,
    settings_fd: int,
    stdio: bool,
    socket_path: Path | None,
    orphan_exit: float | None,
) -> list[str]:
    """The argv of the engine process (``python -m sip``) reading its settings from a descriptor."""
    argv = [sys.executable, *interpreter_flags(ENGINE_MODULES), "-m", "sip"]
    argv += ["--settings-fd", str(settings_fd)]
    if not stdio:
        argv.append("--no-stdio")
    if socket_path is not None:
        argv += ["--socket", str(socket_path)]
    if orphan_exit:
        argv += ["--orphan-exit", repr(orphan_exit)]
    return argv


def settings_pipe(settings: EngineSettings) -> int:
    """A pipe's read end (inheritable) that holds ``settings`` as a JSON document, then EOF.

    Raises :class:`ConfigError` if the document does not fit the pipe's buffer
    (64 KiB on Linux; a document is a few KiB).
    """
    data = json.dumps(settings_document(settings)).encode()
    read, write = os.pipe()
    try:
        os.set_blocking(write, False)
        written = 0
        while written < len(data):
            written += os.write(write, data[written:])
    except BlockingIOError:
        os.close(read)
        raise ConfigError("the engine settings are too large to hand over") from None
    finally:
        os.close(write)
    os.set_inheritable(read, True)
    return read


def engine_starter(
    config: CarelineConfig,
    *,
    socket_path: Path,
    log_path: Path,
    listen: str | None = None,
    audio_mode: Callable[[], str] | None = None,
) -> Callable[[], EngineStart]:
    """How the console starts its engine: straight into the lean process, from the
    configuration it has validated already (no ``careline engine`` in between to
    import and check it again: about 170 ms of every engine start).

    The settings are checked now, so a bad one stops the launch with one line
    (:class:`ConfigError`); the returned function builds them again with a fresh
    pipe before each start. ``audio_mode``, when given, is asked then: the demo's
    sound probe runs beside the first paint.
    """
    build_engine_settings(config, listen=listen, log_path=log_path)

    def start() -> EngineStart:
        chosen = with_audio_mode(config, audio_mode()) if audio_mode is not None else config
        fd = settings_pipe(build_engine_settings(chosen, listen=listen, log_path=log_path))
        argv = lean_engine_argv(
            settings_fd=fd,
            stdio=False,
            socket_path=socket_path,
            orphan_exit=config.engine.orphan_exit or None,
        )
        return EngineStart(argv, (fd,))

    return start


def exec_engine(
    settings: EngineSettings,
    *,
    stdio: bool,
    socket_path: Path | None,
    orphan_exit: float | None,
) -> NoReturn:
    """Become the engine process (same PID and standard streams), handing it ``settings``."""
    argv = lean_engine_argv(
        settings_fd=settings_pipe(settings),
        stdio=stdio,
        socket_path=socket_path,
        orphan_exit=orphan_exit,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)
