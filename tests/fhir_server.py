# SPDX-License-Identifier: GPL-2.0-or-later
# size: one test driver: the server, its SMART client and the seed data EHR tests import
"""A real FHIR R4 server on 127.0.0.1 for the EHR link tests: sekmet-fhir 0.1.1.

sekmet (PyPI ``sekmet-fhir``, Apache-2.0) is FastAPI + SQLite. It pins its own
pydantic, FastAPI and fhir.resources, so it lives in a virtualenv of its own,
``.venv-fhir`` (``make fhir-server``, which ``make test`` runs), never in the
project's ``.venv``. ``CARELINE_SEKMET`` names another ``sekmet`` binary.

``FhirServer`` writes a settings YAML into a directory of its own, runs
``sekmet serve --config ...`` in a session of its own and waits until
``GET /fhir/metadata`` answers 200; it stops the server by PID. With
``smart=True`` the server takes SMART Backend Services tokens only: the
helper makes a client key pair (RS384: RSA 2048, ES384: EC P-384) and
registers its public key, and :meth:`FhirServer.token` gets an access token
with ``client_credentials`` and a ``private_key_jwt`` assertion.
``seed_schedule`` and ``seed_patient`` create test data in one transaction
Bundle each.

sekmet's pitfalls, each handled here:

- It binds 0.0.0.0 by default: the settings say ``host: 127.0.0.1``.
- ``--port`` does not change ``base_url``, from which it builds Location
  headers, paging links, the token endpoint and the audience of its access
  tokens: the settings carry both the port and ``base_url``.
- Its simulator is on by default and books, accepts and fulfils resources
  behind the test's back (Appointments among them): ``simulator: {enabled: false}``.
- It logs every request and response body into its SQLite by default:
  ``log_inbound: false``.
- ``SEKMET_PORT``, ``SEKMET_BASE_URL``, ``SEKMET_DB`` and ``SEKMET_PUBLIC_URL``
  in the environment override the settings file: the server gets an
  environment without them.
- It ignores unknown search parameters unless asked not to: every request
  :meth:`FhirServer.client` makes carries ``Prefer: handling=strict``, so a
  misspelt parameter is a 400, not a search that matches everything.
- Its settings model accepts unknown keys silently, so a misspelt setting
  falls back to the default; tests/test_fhir_server.py checks the listening
  address and the Location links for that reason.
- The token endpoint is ``/auth/token`` at the server root (not under
  ``/fhir``); the SMART configuration is served at
  ``/fhir/.well-known/smart-configuration``. ``/fhir/metadata`` needs no token.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypedDict

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.kamailio import live_group_members
from tests.support import (
    ROOT,
    ServiceProcess,
    file_tail,
    free_tcp_port,
    spawn_logged,
    stop_process,
)

HOST = "127.0.0.1"
SEKMET_ENV = "CARELINE_SEKMET"
"""The environment variable that names another ``sekmet`` binary."""
DEFAULT_SEKMET = ROOT / ".venv-fhir" / "bin" / "sekmet"
"""Where ``make fhir-server`` installs it."""
SMART_SCOPES = "system/*.cruds system/*.rs"
"""The scopes the test client is registered with (and asks for by default)."""
Algorithm = Literal["RS384", "ES384"]
FHIR_JSON = "application/fhir+json"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MRN_SYSTEM = "urn:careline:test:mrn"
"""The identifier system of the MRNs ``seed_patient`` gives."""
SERVICE_SYSTEM = "urn:careline:test:service"
"""The code system of the service types ``seed_schedule`` gives."""
_OVERRIDES = ("SEKMET_PORT", "SEKMET_BASE_URL", "SEKMET_DB", "SEKMET_PUBLIC_URL", "SEKMET_CONFIG")
# The server's own virtualenv must not see the test run's Python paths.
_FOREIGN_PYTHON = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
_TOKEN_MARGIN = 60.0
"""Seconds before its expiry an access token is no longer reused (at most half its life)."""


def find_sekmet() -> Path:
    """The ``sekmet`` binary, or a test failure (never a skip) saying how to install it."""
    override = os.environ.get(SEKMET_ENV)
    path = Path(override) if override else DEFAULT_SEKMET
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"the FHIR test server is not installed ({path} is missing): run `make fhir-server` "
            f"(`make test` runs it), which installs sekmet-fhir into .venv-fhir, "
            f"or set {SEKMET_ENV} to a sekmet binary",
            pytrace=False,
        )
    return path


@dataclass(frozen=True)
class SmartClient:
    """The backend client a SMART-protected server trusts."""

    client_id: str
    """Its ``client_id`` (the ``iss`` and ``sub`` of its assertions)."""
    algorithm: Algorithm
    """The JWS algorithm its assertions are signed with."""
    private_key_path: Path
    """Its PEM private key (PKCS#8, unencrypted, mode 0600)."""
    public_key_path: Path
    """Its PEM public key, the one registered with the server."""
    scopes: str
    """The scopes it is registered with."""


def write_client_key(client: SmartClient) -> None:
    """A new key pair for ``client.algorithm`` (RS384: RSA 2048, ES384: EC P-384), written
    to the client's private and public key paths."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if client.algorithm == "RS384":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP384R1())
    client.private_key_path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Created 0600, not chmod-ed afterwards: the key is never readable by others.
    fd = os.open(client.private_key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    client.public_key_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


class FhirServer(ServiceProcess):
    """sekmet-fhir on 127.0.0.1:``port``, its settings, data and log in a directory of its own.

    ``workdir``: where that directory goes (default: a new temporary directory,
    removed when the ``with`` block ends, so pass one when not using ``with``).
    ``smart``: tokens required (SMART Backend Services, one client registered);
    ``algorithm``, ``client_id`` and ``scopes``: that client's; ``token_lifetime``:
    seconds the server's access tokens live (sekmet's default: an hour). ``stop()``
    and ``kill()`` keep the data, and ``start()`` again serves it on the same port:
    a server that comes back. Access tokens issued before a restart stay valid
    (sekmet keeps the secret it signs them with in its data).
    """

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        smart: bool = False,
        algorithm: Algorithm = "RS384",
        client_id: str = "careline-test",
        scopes: str = SMART_SCOPES,
        token_lifetime: int | None = None,
        port: int | None = None,
    ) -> None:
        if token_lifetime is not None and not smart:
            raise ValueError("token_lifetime needs smart=True")
        self.token_lifetime = token_lifetime
        """Seconds the server's access tokens live (None: sekmet's default, an hour)."""
        self.sekmet = find_sekmet()
        self._own_workdir = workdir is None
        parent = Path(tempfile.mkdtemp(prefix="careline-fhir-")) if workdir is None else workdir
        self.port = port or free_tcp_port()
        """The TCP port on 127.0.0.1, the same across restarts."""
        self.dir = parent / f"fhir-{self.port}"
        self.config_path = self.dir / "settings.yaml"
        self.data_dir = self.dir / "data"
        self.log_path = self.dir / "server.log"
        self._smart = (
            SmartClient(
                client_id=client_id,
                algorithm=algorithm,
                private_key_path=self.dir / "keys" / "client_private.pem",
                public_key_path=self.dir / "keys" / "client_public.pem",
                scopes=scopes,
            )
            if smart
            else None
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._token_url: str | None = None

    # -- what a client needs -------------------------------------------------

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:port``: the server root (the token endpoint is under it)."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The FHIR base, ``http://127.0.0.1:port/fhir`` (no trailing slash)."""
        return f"{self.root_url}/fhir"

    @property
    def smart(self) -> SmartClient | None:
        """The registered SMART client (None: the server takes requests without a token)."""
        return self._smart

    def _smart_client(self) -> SmartClient:
        if self._smart is None:
            raise RuntimeError("this FhirServer runs without SMART auth (FhirServer(smart=True))")
        return self._smart

    @property
    def client_id(self) -> str:
        """The SMART client's ``client_id`` (RuntimeError without SMART auth)."""
        return self._smart_client().client_id

    @property
    def private_key_path(self) -> Path:
        """The SMART client's PEM private key (RuntimeError without SMART auth)."""
        return self._smart_client().private_key_path

    @property
    def algorithm(self) -> Algorithm:
        """The SMART client's signing algorithm, RS384 or ES384 (RuntimeError without SMART)."""
        return self._smart_client().algorithm

    @property
    def pid(self) -> int | None:
        """The server's PID while it runs (None when stopped)."""
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.pid is not None

    # -- lifecycle -------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The settings sekmet is started with."""
        settings: dict[str, Any] = {
            "host": HOST,
            "port": self.port,
            "base_url": self.base_url,
            "data_dir": str(self.data_dir),
            "own_private_key_path": str(self.dir / "keys" / "sekmet_private.pem"),
            "simulator": {"enabled": False},
            "log_inbound": False,
            "validation": {"inbound": "strict"},
        }
        if self._smart is not None:
            settings["server_auth"] = {
                "types": ["smart"],
                "smart_clients": [
                    {
                        "client_id": self._smart.client_id,
                        "public_key_path": str(self._smart.public_key_path),
                        "scopes": self._smart.scopes,
                    }
                ],
            }
            if self.token_lifetime is not None:
                settings["server_auth"]["token_lifetime"] = self.token_lifetime
        return settings

    def start(self, timeout: float = 30.0) -> None:
        """Write the settings (and the client key, once), start the server and wait until
        ``/fhir/metadata`` answers 200; RuntimeError with the log's end when it does not."""
        if self.running:
            raise RuntimeError("the FHIR server is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._smart is not None and not self._smart.private_key_path.exists():
            write_client_key(self._smart)
        self.config_path.write_text(yaml.safe_dump(self.settings(), sort_keys=False), "utf-8")
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in _OVERRIDES and key not in _FOREIGN_PYTHON
        }
        argv = [str(self.sekmet), "serve", "--config", str(self.config_path)]
        proc = spawn_logged(argv, self.log_path, self.dir, append=True, new_session=True, env=env)
        self.proc = proc
        deadline = time.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=1.0) as probe:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    code = proc.returncode
                    self._reap(proc)
                    raise RuntimeError(f"sekmet exited {code} at start:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if probe.get(f"{self.base_url}/metadata").status_code == 200:
                        return
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"sekmet did not answer /fhir/metadata in {timeout}s:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM by PID, SIGKILL after ``timeout``; its exit code (None: not running):
        -15 after a clean shutdown, as uvicorn raises SIGTERM again once it is done.
        The data stays for a later ``start()``."""
        if self.proc is None:
            return None
        code = stop_process(self.proc, timeout)
        self._reap(self.proc)
        return code

    def kill(self) -> None:
        """SIGKILL the server at once: a FHIR server that disappears mid-operation."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self._reap(self.proc)

    def _reap(self, proc: subprocess.Popen[bytes]) -> None:
        """Forget the exited server once nothing it started outlives it (it ran in a
        session of its own, so its process group's id is its PID)."""
        self.proc = None
        pgid = proc.pid
        if not live_group_members(pgid):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while (left := live_group_members(pgid)) and time.monotonic() < deadline:
            time.sleep(0.02)
        if left:
            raise RuntimeError(f"sekmet processes {left} survived SIGKILL")

    def __enter__(self) -> Self:
        try:
            return super().__enter__()
        except BaseException:
            # No __exit__ follows a failed __enter__; the error already holds the log's end.
            self._remove_own_workdir()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, tb)
        self._remove_own_workdir()

    def _remove_own_workdir(self) -> None:
        if self._own_workdir:
            shutil.rmtree(self.dir.parent, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log (its stdout and stderr), for assertion messages."""
        return file_tail(self.log_path, lines, "sekmet log")

    # -- HTTP --------------------------------------------------------------------

    def token_url(self) -> str:
        """The token endpoint, as the server's SMART configuration names it."""
        if self._token_url is None:
            with httpx.Client(trust_env=False, timeout=10.0) as http:
                answer = http.get(f"{self.base_url}/.well-known/smart-configuration")
            answer.raise_for_status()
            self._token_url = str(answer.json()["token_endpoint"])
        return self._token_url

    def client_assertion(self, **claims: Any) -> str:
        """A signed ``private_key_jwt`` assertion for the token endpoint (valid 4 minutes,
        a fresh ``jti``); ``claims`` replace or add claims, e.g. ``aud=`` a wrong audience."""
        client = self._smart_client()
        key = serialization.load_pem_private_key(client.private_key_path.read_bytes(), None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError(f"{client.private_key_path}: not an RSA or EC private key")
        now = int(time.time())
        payload = {
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": self.token_url(),
            "exp": now + 240,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        return jwt.encode(payload, key, algorithm=client.algorithm)

    def request_token(self, scope: str | None = None) -> httpx.Response:
        """POST a ``client_credentials`` request with a fresh assertion; the raw answer."""
        form = {
            "grant_type": "client_credentials",
            "scope": scope or self._smart_client().scopes,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.client_assertion(),
        }
        with httpx.Client(trust_env=False, timeout=10.0) as http:
            return http.post(self.token_url(), data=form)

    def token(self, scope: str | None = None) -> str:
        """An access token for ``scope`` (default: every registered scope), reused until
        a minute (or half its life, if shorter) before it expires."""
        key = scope or self._smart_client().scopes
        cached = self._tokens.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        answer = self.request_token(key)
        if answer.status_code != 200:
            raise AssertionError(f"token request: {answer.status_code} {answer.text}")
        body = answer.json()
        lifetime = float(body["expires_in"])
        expires = time.monotonic() + lifetime - min(_TOKEN_MARGIN, lifetime / 2)
        self._tokens[key] = (str(body["access_token"]), expires)
        return str(body["access_token"])

    def client(self, *, authorised: bool = True, timeout: float = 10.0) -> httpx.Client:
        """An HTTP client for the FHIR base: FHIR JSON, ``Prefer: handling=strict``, and a
        bearer token when the server wants one (unless ``authorised`` is False). Relative
        URLs are under ``base_url`` (``client.get("Slot", params=...)``). Close it (``with``)."""
        headers = {"Accept": FHIR_JSON, "Prefer": "handling=strict"}
        if authorised and self._smart is not None:
            headers["Authorization"] = f"Bearer {self.token()}"
        # trust_env=False: a proxy configured for the machine must not see 127.0.0.1 traffic.
        return httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, trust_env=False
        )


# -- seeding -----------------------------------------------------------------------


class ScheduleIds(TypedDict):
    """The logical ids ``seed_schedule`` created, by resource type."""

    Practitioner: str
    Location: str
    HealthcareService: str
    PractitionerRole: str
    Schedule: str
    Slot: list[str]
    """The free slots, earliest first."""


def human_name(name: str) -> dict[str, Any]:
    """A FHIR HumanName from ``"Given More Family"`` (the last word is the family name)."""
    *given, family = name.split()
    return {"text": name, "family": family, "given": given}


def _id_from_location(location: str) -> str:
    """The logical id in a transaction response's ``location`` (absolute or relative,
    with or without ``/_history/n``)."""
    path = location.split("/_history/")[0].rstrip("/")
    return path.rsplit("/", 1)[-1]


def transaction(server: FhirServer, resources: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """POST one transaction Bundle that creates ``resources`` (``(fullUrl, resource)``
    pairs; entries refer to each other by those ``urn:uuid:`` fullUrls); the logical
    ids created, in order. AssertionError unless every entry is created."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": full_url,
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
            for full_url, resource in resources
        ],
    }
    with server.client() as http:
        answer = http.post(
            server.base_url, content=json.dumps(bundle), headers={"Content-Type": FHIR_JSON}
        )
    if answer.status_code != 200:
        raise AssertionError(f"transaction: {answer.status_code} {answer.text[:2000]}")
    entries = answer.json().get("entry", [])
    statuses = [entry["response"]["status"] for entry in entries]
    if len(entries) != len(resources) or not all(s.startswith("201") for s in statuses):
        raise AssertionError(f"transaction entries: {statuses}")
    return [_id_from_location(entry["response"]["location"]) for entry in entries]


def put_resources(
    server: FhirServer, resources: Iterable[dict[str, Any]], *, chunk: int = 500
) -> int:
    """Create or replace ``resources`` under their own ids (``PUT Type/id`` in batch
    Bundles of ``chunk``), so that their references to each other hold; how many.
    AssertionError unless every entry is written."""
    written = 0
    pending = list(resources)
    with server.client(timeout=120) as http:
        for start in range(0, len(pending), chunk):
            entries = [
                {
                    "resource": resource,
                    "request": {
                        "method": "PUT",
                        "url": f"{resource['resourceType']}/{resource['id']}",
                    },
                }
                for resource in pending[start : start + chunk]
            ]
            bundle = {"resourceType": "Bundle", "type": "batch", "entry": entries}
            answer = http.post(
                server.base_url, content=json.dumps(bundle), headers={"Content-Type": FHIR_JSON}
            )
            if answer.status_code != 200:
                raise AssertionError(f"batch: {answer.status_code} {answer.text[:2000]}")
            statuses = [entry["response"]["status"] for entry in answer.json().get("entry", [])]
            if len(statuses) != len(entries) or not all(s.startswith("20") for s in statuses):
                raise AssertionError(f"batch entries: {sorted(set(statuses))}")
            written += len(entries)
    return written


def seed_directory(server: FhirServer, count: int, seed: int = 1) -> dict[str, int]:
    """``count`` synthetic patients with their clinical context (careline's own generator:
    appointments from today on, prescriptions, care teams, practitioner roles), under
    their generated ids; how many resources of each type."""
    from console.core.patients.generate import generate

    resources = list(generate(count, seed, care_from=datetime.now(UTC).date()))
    put_resources(server, resources)
    kinds: dict[str, int] = {}
    for resource in resources:
        kinds[resource["resourceType"]] = kinds.get(resource["resourceType"], 0) + 1
    return kinds


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def seed_schedule(
    server: FhirServer,
    practitioner_name: str,
    location_name: str,
    service: str,
    start: datetime,
    count: int,
    minutes: int,
) -> ScheduleIds:
    """A practitioner's schedule at a location, with ``count`` free slots of ``minutes``
    back to back from ``start`` (timezone-aware), in one transaction: a Practitioner,
    a Location, a HealthcareService called ``service`` there, a PractitionerRole tying
    them, a Schedule whose actors are the practitioner and the location, and the Slots.
    The Schedule, the Slots and the service carry ``service`` as their service type
    (code ``service`` in :data:`SERVICE_SYSTEM`)."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware: a FHIR instant has an offset")
    service_type = [
        {
            "coding": [{"system": SERVICE_SYSTEM, "code": service, "display": service}],
            "text": service,
        }
    ]
    practitioner, location, healthcare, role, schedule = (_urn() for _ in range(5))
    resources: list[tuple[str, dict[str, Any]]] = [
        (
            practitioner,
            {
                "resourceType": "Practitioner",
                "active": True,
                "name": [human_name(practitioner_name)],
            },
        ),
        (location, {"resourceType": "Location", "status": "active", "name": location_name}),
        (
            healthcare,
            {
                "resourceType": "HealthcareService",
                "active": True,
                "name": service,
                "type": service_type,
                "location": [{"reference": location}],
            },
        ),
        (
            role,
            {
                "resourceType": "PractitionerRole",
                "active": True,
                "practitioner": {"reference": practitioner},
                "location": [{"reference": location}],
                "healthcareService": [{"reference": healthcare}],
            },
        ),
        (
            schedule,
            {
                "resourceType": "Schedule",
                "active": True,
                "serviceType": service_type,
                "actor": [{"reference": practitioner}, {"reference": location}],
            },
        ),
    ]
    length = timedelta(minutes=minutes)
    for index in range(count):
        begin = start + index * length
        slot = {
            "resourceType": "Slot",
            "schedule": {"reference": schedule},
            "status": "free",
            "serviceType": service_type,
            "start": begin.isoformat(timespec="seconds"),
            "end": (begin + length).isoformat(timespec="seconds"),
        }
        resources.append((_urn(), slot))
    ids = transaction(server, resources)
    return ScheduleIds(
        Practitioner=ids[0],
        Location=ids[1],
        HealthcareService=ids[2],
        PractitionerRole=ids[3],
        Schedule=ids[4],
        Slot=ids[5:],
    )


def seed_patient(
    server: FhirServer,
    name: str,
    mrn: str,
    birth_date: date,
    phone: str,
    *,
    mrn_system: str = MRN_SYSTEM,
) -> str:
    """A Patient called ``name`` (the last word is the family name) with the MRN ``mrn``
    (identifier type MR in ``mrn_system``), ``birth_date`` and a phone number; its id."""
    patient = {
        "resourceType": "Patient",
        "active": True,
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ]
                },
                "system": mrn_system,
                "value": mrn,
            }
        ],
        "name": [{"use": "official", **human_name(name)}],
        "birthDate": birth_date.isoformat(),
        "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
    }
    return transaction(server, [(_urn(), patient)])[0]


def seed_prescriptions(
    server: FhirServer,
    patient_id: str,
    prescriber_name: str,
    prescriptions: Sequence[tuple[str, int | None, date | None]],
    *,
    care_team: bool = True,
) -> tuple[str, list[str]]:
    """A Practitioner called ``prescriber_name``, active MedicationRequests for the patient
    that they prescribed (``(medication, refills allowed, valid until)`` each) and, with
    ``care_team``, an active CareTeam naming them; (the practitioner's id, the
    MedicationRequests' ids in order)."""
    prescriber = _urn()
    resources: list[tuple[str, dict[str, Any]]] = [
        (prescriber, {"resourceType": "Practitioner", "name": [human_name(prescriber_name)]})
    ]
    for name, refills, until in prescriptions:
        dispense: dict[str, Any] = {}
        if refills is not None:
            dispense["numberOfRepeatsAllowed"] = refills
        if until is not None:
            dispense["validityPeriod"] = {"end": until.isoformat()}
        request = {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": f"Patient/{patient_id}"},
            "medicationCodeableConcept": {"text": name},
            "requester": {"reference": prescriber},
            "dosageInstruction": [{"text": "1 tablet once daily"}],
            "dispenseRequest": dispense,
        }
        resources.append((_urn(), request))
    if care_team:
        team = {
            "resourceType": "CareTeam",
            "status": "active",
            "name": "Primary care team",
            "subject": {"reference": f"Patient/{patient_id}"},
            "participant": [{"member": {"reference": prescriber}}],
        }
        resources.append((_urn(), team))
    ids = transaction(server, resources)
    return ids[0], ids[1 : 1 + len(prescriptions)]


def seed_test(
    server: FhirServer,
    patient_id: str,
    test: str,
    code: str,
    ordered: date,
    *,
    report: tuple[str, datetime] | None = None,
) -> list[str]:
    """An active ServiceRequest for ``test`` (a LOINC ``code``) ordered on ``ordered`` and,
    with ``report`` (status, issued), a DiagnosticReport based on it; their ids."""
    order = _urn()
    concept = {"coding": [{"system": "http://loinc.org", "code": code}], "text": test}
    resources: list[tuple[str, dict[str, Any]]] = [
        (
            order,
            {
                "resourceType": "ServiceRequest",
                "status": "active",
                "intent": "order",
                "code": concept,
                "subject": {"reference": f"Patient/{patient_id}"},
                "authoredOn": ordered.isoformat(),
            },
        )
    ]
    if report is not None:
        status, issued = report
        result = {
            "resourceType": "DiagnosticReport",
            "status": status,
            "code": concept,
            "basedOn": [{"reference": order}],
            "subject": {"reference": f"Patient/{patient_id}"},
            "issued": issued.isoformat(timespec="seconds"),
        }
        resources.append((_urn(), result))
    return transaction(server, resources)
