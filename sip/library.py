# SPDX-License-Identifier: GPL-2.0-or-later
"""Starting pjsua2: endpoint, transports, the agent's account, the call-capacity probe;
and destroying the endpoint.

Everything here runs on the engine thread: at startup, and at its end.
"""

from __future__ import annotations

import gc
import socket
import time

import pjsua2 as pj

from sip.codecs import bridge_rate
from sip.engine_log import logger
from sip.library_facts import build_facts, compiled_max_calls, tls_versions
from sip.plain import plain
from sip.settings import AccountSettings, EngineSettings
from sip.sipmsg import parse_headers

log = logger(__name__)

PJ_ETOOMANY = 70010
"""pj_status_t of "too many objects": no free call slot."""
REQUESTED_MAX_CALLS = 32
"""Asked of the library; the wheel's compile-time cap is lower and is measured."""

_SRTP = {
    "off": pj.PJMEDIA_SRTP_DISABLED,
    "optional": pj.PJMEDIA_SRTP_OPTIONAL,
    "mandatory": pj.PJMEDIA_SRTP_MANDATORY,
}


_KEYING = {"sdes": pj.PJMEDIA_SRTP_KEYING_SDES, "dtls": pj.PJMEDIA_SRTP_KEYING_DTLS_SRTP}


class StartError(RuntimeError):
    """The library could not be started as configured (message fit for the user)."""


@plain(frozen=True)
class Transports:
    """Transport ids and the ports they bound."""

    ids: dict[str, int]
    ports: dict[str, int]


def endpoint_config(settings: EngineSettings) -> pj.EpConfig:
    """One polling thread, no worker threads, logs to the engine log only."""
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.maxCalls = REQUESTED_MAX_CALLS
    cfg.uaConfig.userAgent = settings.user_agent
    # No silence suppression on any stream: VAD/DTX sends nothing on a quiet,
    # clean signal, which the far end hears as drop-outs (see sip.codecs).
    cfg.medConfig.noVad = not settings.library_media_defaults
    if not settings.library_media_defaults:
        # The bridge's clock: 8 kHz when every codec the policy allows is narrowband,
        # so G.711 calls are not resampled (see sip.codecs.bridge_rate). pjsua's
        # resampling quality stays at its default (the large filter): the small
        # one (quality 3-4) passes the telephone band 1 dB low at each resampling
        # and 5 dB low at 3.4 kHz, measured (tests/test_engine_bridge_rate.py).
        cfg.medConfig.clockRate = bridge_rate(settings.codecs)
    # The (null) sound device is the conference bridge's clock, and the bridge
    # adds and removes call ports only on its clock ticks. pjsua closes the
    # device after a second with nothing connected to it — which, with no
    # headset, is while calls are up — and every port removal then waits, its
    # slot taken: under a few hundred calls with holds the 254-slot bridge was
    # full and every call after failed (PJ_ETOOMANY). The clock runs always.
    cfg.medConfig.sndAutoCloseTime = -1
    cfg.logConfig.consoleLevel = 0
    cfg.logConfig.level = settings.log_level
    cfg.logConfig.msgLogging = settings.log_sip_messages
    if settings.log_path is not None:
        cfg.logConfig.filename = str(settings.log_path)
        # Append, never truncate: after a crash the console restarts the engine,
        # and the crashed run's log is exactly what is needed then.
        cfg.logConfig.fileFlags = pj.PJ_O_APPEND
    return cfg


def destroy_endpoint(ep: pj.Endpoint, *, answers_due: bool) -> None:
    """``libDestroy``, waiting for the network only when answers are due.

    pjsua's destroy hangs up, then handles events for one second "to allow
    unregistration and ICE/TURN transports shutdown to complete" (pjsua_core.c). An
    endpoint that sent nothing at its end (a probe, an engine with no call and no
    registration) has no answer to wait for, and each ``careline doctor`` check,
    engine stop and console quit paid that second for nothing: ``answers_due=False``
    skips the wait (``PJSUA_DESTROY_NO_RX_MSG``; what is due still goes out).
    """
    ep.libDestroy(0 if answers_due else pj.PJSUA_DESTROY_NO_RX_MSG)


def create_transports(ep: pj.Endpoint, settings: EngineSettings) -> Transports:
    """UDP/TCP on the listen address (same port) and TLS (1.2+) when configured."""
    ids: dict[str, int] = {}
    ports: dict[str, int] = {}
    port = settings.listen_port
    kinds = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP}
    for name in ("udp", "tcp"):
        if name not in settings.transports:
            continue
        cfg = pj.TransportConfig()
        cfg.boundAddress = settings.listen_host
        cfg.port = port
        try:
            tid = ep.transportCreate(kinds[name], cfg)
        except pj.Error as exc:
            raise StartError(
                f"cannot listen for SIP on {settings.listen_host}:{port}/{name}: {exc.reason}"
            ) from None
        ids[name] = tid
        ports[name] = _bound_port(ep, tid)
        port = ports[name]  # TCP takes the port UDP got when 0 was asked for
    if settings.tls is not None:
        tls = settings.tls
        cfg = pj.TransportConfig()
        cfg.boundAddress = settings.listen_host
        cfg.port = tls.port
        # TLS 1.2 is the minimum; 1.3 too where the library's OpenSSL has it (the
        # hardened build). The PyPI wheel's OpenSSL 1.0.2 has not: a 1.3 listener
        # there fails every handshake, so it is offered only when its suites exist.
        has_13 = "1.3" in tls_versions(ep)
        if tls.min_version == "1.3" and not has_13:
            raise StartError(
                "sip.tls.version is 1.3, but this engine's pjsua2 has no TLS 1.3 "
                "(its OpenSSL is too old): build the hardened library (make library) "
                "or use version: '1.2'"
            )
        cfg.tlsConfig.method = pj.PJSIP_TLSV1_2_METHOD
        cfg.tlsConfig.proto = 0 if tls.min_version == "1.3" else pj.PJ_SSL_SOCK_PROTO_TLS1_2
        if has_13:
            cfg.tlsConfig.proto |= pj.PJ_SSL_SOCK_PROTO_TLS1_3
        cfg.tlsConfig.certFile = tls.cert_file
        cfg.tlsConfig.privKeyFile = tls.key_file
        cfg.tlsConfig.CaListFile = tls.ca_file
        cfg.tlsConfig.verifyServer = tls.verify_server
        cfg.tlsConfig.verifyClient = tls.verify_client
        cfg.tlsConfig.requireClientCert = tls.verify_client
        try:
            tid = ep.transportCreate(pj.PJSIP_TRANSPORT_TLS, cfg)
        except pj.Error as exc:
            raise StartError(
                f"cannot listen for SIP over TLS on {settings.listen_host}:{tls.port}: {exc.reason}"
            ) from None
        ids["tls"] = tid
        ports["tls"] = _bound_port(ep, tid)
    if not ids:
        raise StartError("no SIP transport configured (sip.transports is empty and no tls)")
    return Transports(ids, ports)


def _bound_port(ep: pj.Endpoint, tid: int) -> int:
    return int(str(ep.transportGetInfo(tid).localName).rsplit(":", 1)[1])


def account_config(settings: EngineSettings, transports: Transports) -> pj.AccountConfig:
    """The agent's account: registration and credentials, or a local identity."""
    acfg = pj.AccountConfig()
    account = settings.account
    first = next(iter(transports.ports.values()))
    if account is None:
        acfg.idUri = f"sip:agent@{settings.listen_host}:{first}"
    else:
        _registration(acfg, account, transports)
    media = acfg.mediaConfig
    media.transportConfig.boundAddress = settings.listen_host
    media.transportConfig.port = 0
    media.srtpUse = _SRTP[settings.srtp]
    media.srtpOpt.keyings = srtp_keyings(settings.srtp_keying)
    # SDES over plain SIP is allowed: secure signalling is the TLS setting's job.
    media.srtpSecureSignaling = 0
    # pjsua re-INVITEs after answering a multi-codec offer to "lock" one codec;
    # that extra transaction confuses peers (and races a hold or a REFER).
    media.lockCodecEnabled = False
    return acfg


def srtp_keyings(wanted: tuple[str, ...]) -> pj.IntVector:
    """The SRTP key exchanges in the order asked; empty asks for all the library has."""
    dtls = bool(build_facts().get("dtls"))
    names = list(wanted) or (["sdes", "dtls"] if dtls else ["sdes"])
    if "dtls" in names and not dtls:
        raise StartError(
            "sip.srtp_keying lists dtls, but this engine's pjsua2 has no DTLS-SRTP "
            "(build the hardened library: make library)"
        )
    keyings = pj.IntVector()
    for name in names:
        keyings.append(_KEYING[name])
    return keyings


def _registration(acfg: pj.AccountConfig, account: AccountSettings, transports: Transports) -> None:
    acfg.idUri = f"sip:{account.user}@{account.domain}"
    registrar = account.registrar
    if account.transport != "udp" and "transport=" not in registrar:
        registrar += f";transport={account.transport}"
    acfg.regConfig.registrarUri = registrar
    acfg.regConfig.timeoutSec = account.expires
    acfg.regConfig.retryIntervalSec = account.retry_interval
    acfg.regConfig.firstRetryIntervalSec = min(account.retry_interval, 5)
    acfg.regConfig.randomRetryIntervalSec = 0
    acfg.regConfig.unregWaitMsec = 1500
    # A failed refresh must never cut a patient's call.
    acfg.regConfig.dropCallsOnFail = False
    cred = pj.AuthCredInfo("digest", "*", account.auth_user or account.user, 0, account.password)
    acfg.sipConfig.authCreds.append(cred)
    if account.outbound_proxy:
        proxy = account.outbound_proxy
        acfg.sipConfig.proxies.append(proxy if ";lr" in proxy else proxy + ";lr")
    if account.transport in transports.ids:
        acfg.sipConfig.transportId = transports.ids[account.transport]


def call_capacity(ep: pj.Endpoint, host: str | None) -> int | None:
    """How many calls the library holds at once, after ``libInit``: its own count, or,
    from a pjsua2 that does not export it, :func:`measure_call_capacity` on ``host`` (a
    UDP transport there is needed; None without one, or if the probe could not run)."""
    own = library_call_slots()
    if own is not None:
        return own
    return measure_call_capacity(ep, host) if host is not None else None


def library_call_slots() -> int | None:
    """pjsua's own call limit (``pjsua_call_get_max_count``, after ``libInit``): the
    ``maxCalls`` asked for, capped at the compile-time ``PJSUA_MAX_CALLS`` — exactly what
    placing calls until "too many" finds, without placing 32 of them. Placing them left
    about 5 MiB in the idle engine (pools and transactions pjsip keeps a while).
    None when the loaded binding does not export the function."""
    compiled = compiled_max_calls()
    if compiled is not None:
        # The hardened build records its cap: the same answer, without loading ctypes
        # (about 0.3 MiB the idle engine keeps) to call the function.
        return min(REQUESTED_MAX_CALLS, compiled) or None
    return exported_call_slots()


def exported_call_slots() -> int | None:
    """``pjsua_call_get_max_count()`` itself, through ctypes; None when not exported."""
    import ctypes  # only for a pjsua2 that did not record its cap (the PyPI wheel)

    try:
        count = ctypes.CDLL(pj._pjsua2.__file__).pjsua_call_get_max_count
    except (AttributeError, OSError):
        return None
    count.restype = ctypes.c_uint
    count.argtypes = []
    slots = int(count())
    return slots if slots > 0 else None


def measure_call_capacity(ep: pj.Endpoint, host: str) -> int | None:
    """How many calls the library really holds at once (its compile-time cap).

    Places calls to a socket of our own on ``host`` until the library says
    "too many", answers each with 486 so the slots free at once, and counts.
    Returns None if the probe could not run (e.g. no UDP transport).
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind((host, 0))
    probe.setblocking(False)
    target = f"sip:capacity-probe@{host}:{probe.getsockname()[1]}"
    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:capacity-probe@{host}"
    acfg.mediaConfig.transportConfig.boundAddress = host
    account = pj.Account()
    calls: list[pj.Call] = []
    count: int | None = None
    try:
        account.create(acfg)
        for _ in range(REQUESTED_MAX_CALLS):
            call = pj.Call(account)
            try:
                call.makeCall(target, pj.CallOpParam(True))
            except pj.Error as exc:
                del call  # id is invalid after a failed makeCall: deleting is safe
                if exc.status != PJ_ETOOMANY:
                    log.warning("call-capacity probe failed: %s", exc.reason)
                    return None
                break
            calls.append(call)
        count = len(calls)
        deadline = time.monotonic() + 3
        while any(call.isActive() for call in calls) and time.monotonic() < deadline:
            ep.libHandleEvents(5)
            _refuse_all(probe)
        return count
    finally:
        calls.clear()
        gc.collect()
        account.shutdown()
        del account
        gc.collect()
        probe.close()


def _refuse_all(probe: socket.socket) -> None:
    """Answer every INVITE waiting on ``probe`` with 486 (responses routed by Via)."""
    while True:
        try:
            data, peer = probe.recvfrom(65536)
        except BlockingIOError:
            return
        text = data.decode(errors="replace")
        if not text.startswith("INVITE "):
            continue
        headers = parse_headers(text)
        lines = ["SIP/2.0 486 Busy Here"]
        lines += [f"Via: {via}" for via in headers.get("via", [])]
        lines += [f"From: {headers.get('from', [''])[0]}"]
        lines += [f"To: {headers.get('to', [''])[0]};tag=probe"]
        lines += [f"Call-ID: {headers.get('call-id', [''])[0]}"]
        lines += [f"CSeq: {headers.get('cseq', [''])[0]}", "Content-Length: 0", "", ""]
        probe.sendto("\r\n".join(lines).encode(), peer)
