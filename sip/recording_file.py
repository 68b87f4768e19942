# SPDX-License-Identifier: GPL-2.0-or-later
"""The encrypted call-recording file: written chunk by chunk, never as plaintext on disk.

Format (version 1), everything big-endian::

    magic     5 bytes   b"CLREC"
    version   1 byte    1
    length    2 bytes   length of the header that follows
    header    JSON      {"version", "call_id", "sample_rate", "channels", "sample_width",
                         "created", "cipher", "kdf", "salt", "nonce"}
    chunk*    kind (1 byte) | length (4 bytes) | AES-256-GCM ciphertext + 16-byte tag

Each file has its own key: HKDF-SHA256 of the recordings key the console hands
the engine, with the header's random 16-byte ``salt``. The nonce of chunk *n*
(counting from 0) is ``n`` as 12 bytes, unique because the key is. Every
chunk is authenticated together with SHA-256 of the header's bytes, its index
and its kind, so a chunk cannot be altered, moved, dropped from the middle or
re-labelled, and the header cannot be changed, without the tag failing.

Kinds: ``A`` audio (16-bit little-endian PCM, about a second), ``M`` a mark
(JSON: ``{"fact", "at", "sample"}`` -- pause, resume, hold, transfer…) and
``E`` the end (JSON summary), after which nothing may follow. A file whose
engine was killed has no end chunk: :func:`read_recording` returns every whole
chunk before the cut and says ``complete=False``.

The ``cryptography`` library is imported only when a recording is written or
read: an engine that records nothing never loads it.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "FORMAT_VERSION",
    "KEY_BYTES",
    "MAGIC",
    "Recording",
    "RecordingFileError",
    "RecordingTamperedError",
    "RecordingWriter",
    "decrypt_recording",
    "file_key",
    "read_recording",
    "recording_marks",
    "salt_of",
]

MAGIC = b"CLREC"
"""The first bytes of every recording file."""
FORMAT_VERSION = 1
"""The version this module writes and reads."""
KEY_BYTES = 32
"""Length of the recordings key (AES-256)."""
SALT_BYTES = 16
"""Length of each file's random salt."""
AUDIO, MARK, END = b"A", b"M", b"E"
"""Chunk kinds: audio, a mark on the timeline, the end."""
_PREFIX = struct.Struct(">5sBH")
_CHUNK = struct.Struct(">cI")
_KDF_INFO = b"careline recording v1"
MAX_CHUNK_BYTES = 1 << 20
"""A chunk longer than this is damage, not a recording (a chunk is about 32 KiB)."""


class RecordingFileError(ValueError):
    """Not a recording file this version can read (the message says why; no audio in it)."""


class RecordingTamperedError(RecordingFileError):
    """A chunk failed authentication: a wrong key, or the file was altered."""


def file_key(master: bytes, salt: bytes) -> bytes:
    """The key of one file: HKDF-SHA256 of the recordings key with the file's salt."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if len(master) != KEY_BYTES:
        raise ValueError(f"a recordings key is {KEY_BYTES} bytes")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=_KDF_INFO).derive(
        master
    )


def _aead(master: bytes, salt: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(file_key(master, salt))


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(header_digest: bytes, index: int, kind: bytes) -> bytes:
    return header_digest + index.to_bytes(8, "big") + kind


class RecordingWriter:
    """Appends encrypted chunks to a new recording file (one thread uses it).

    Each chunk is written with one ``os.write`` straight to the file: nothing
    of the call's audio sits in a user-space buffer, so a killed engine loses
    only the chunk it was gathering.
    """

    def __init__(
        self, path: Path, master: bytes, *, call_id: str, sample_rate: int, created: str
    ) -> None:
        """Create ``path`` (mode 0600, never an existing file) and write its header."""
        salt = os.urandom(SALT_BYTES)
        self._aead = _aead(master, salt)
        header = {
            "version": FORMAT_VERSION,
            "call_id": call_id,
            "sample_rate": sample_rate,
            "channels": 1,
            "sample_width": 2,
            "created": created,
            "cipher": "AES-256-GCM",
            "kdf": "HKDF-SHA256(recordings key, salt, 'careline recording v1')",
            "salt": salt.hex(),
            "nonce": "chunk index, 12 bytes big-endian",
        }
        body = json.dumps(header, separators=(",", ":")).encode()
        raw = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(body)) + body
        self._digest = hashlib.sha256(raw).digest()
        self._index = 0
        self.path = path
        self.bytes_written = 0
        """Bytes in the file so far (header included)."""
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            self._write(raw)
        except BaseException:
            self.close()
            raise

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
            self.bytes_written += written

    def chunk(self, kind: bytes, plaintext: bytes) -> None:
        """Encrypt and append one chunk; raises OSError (disk full…) as the disk does."""
        if self._fd is None:
            raise ValueError("the recording file is closed")
        sealed = self._aead.encrypt(
            _nonce(self._index), plaintext, _aad(self._digest, self._index, kind)
        )
        self._index += 1
        self._write(_CHUNK.pack(kind, len(sealed)) + sealed)

    def audio(self, pcm: bytes) -> None:
        """Append audio (16-bit little-endian mono PCM)."""
        self.chunk(AUDIO, pcm)

    def mark(self, fact: dict[str, Any]) -> None:
        """Append a mark on the timeline (plain values only; never patient data)."""
        self.chunk(MARK, json.dumps(fact, separators=(",", ":")).encode())

    def end(self, summary: dict[str, Any]) -> None:
        """Append the end chunk and close the file."""
        self.chunk(END, json.dumps(summary, separators=(",", ":")).encode())
        self.close()

    def close(self) -> None:
        """Close the file (without an end chunk: it reads as incomplete)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


@dataclass
class Recording:
    """A decrypted recording: its header, audio, marks and whether it ended cleanly."""

    header: dict[str, Any]
    pcm: bytes = b""
    """The whole call's audio, 16-bit little-endian mono at ``header['sample_rate']``."""
    marks: list[dict[str, Any]] = field(default_factory=list)
    """The timeline, in order: each a mark's JSON object."""
    summary: dict[str, Any] | None = None
    """The end chunk's summary; None when the file was cut short."""

    @property
    def complete(self) -> bool:
        """Whether the file has its end chunk (False: the engine stopped mid-call)."""
        return self.summary is not None

    @property
    def sample_rate(self) -> int:
        """Samples per second of :attr:`pcm`."""
        return int(self.header["sample_rate"])

    @property
    def seconds(self) -> float:
        """Length of the audio."""
        return len(self.pcm) / 2 / self.sample_rate


def read_header(raw: bytes) -> tuple[dict[str, Any], int]:
    """The header of a recording file's bytes and where its chunks start."""
    if len(raw) < _PREFIX.size:
        raise RecordingFileError("too short to be a recording")
    magic, version, length = _PREFIX.unpack_from(raw)
    if magic != MAGIC:
        raise RecordingFileError("not a careline recording")
    if version != FORMAT_VERSION:
        raise RecordingFileError(f"recording format {version}; this version reads 1")
    end = _PREFIX.size + length
    if len(raw) < end:
        raise RecordingFileError("the header is cut short")
    try:
        header = json.loads(raw[_PREFIX.size : end])
    except ValueError:
        raise RecordingFileError("the header is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("salt"), str):
        raise RecordingFileError("the header lacks its salt")
    return header, end


def read_recording(path: Path, master: bytes) -> Recording:
    """Decrypt a recording file with the recordings key.

    Stops at the first incomplete chunk (a killed engine) and says so with
    ``complete=False``. Raises :class:`RecordingTamperedError` when a chunk fails
    authentication, :class:`RecordingFileError` for anything else that is wrong.
    """
    raw = path.read_bytes()
    return decrypt_recording(raw, file_key(master, salt_of(raw)))


def salt_of(raw: bytes) -> bytes:
    """The salt in a recording's header (what its file key derives from)."""
    header, _ = read_header(raw)
    try:
        return bytes.fromhex(header["salt"])
    except ValueError:
        raise RecordingFileError("the header's salt is not hex") from None


def _chunks(raw: bytes, pos: int, key: bytes, kinds: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The kind and plaintext of each chunk of ``kinds`` (one-byte kinds) from ``pos``.

    Every chunk is checked for its place (kind, length, nothing after the end), but
    only those of ``kinds`` are decrypted, each authenticated on its own.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(key)
    digest = hashlib.sha256(raw[:pos]).digest()
    ended = False
    index = 0
    while pos + _CHUNK.size <= len(raw):
        kind, length = _CHUNK.unpack_from(raw, pos)
        start = pos + _CHUNK.size
        if length > MAX_CHUNK_BYTES or kind not in (AUDIO, MARK, END):
            raise RecordingTamperedError(f"chunk {index} is damaged")
        if start + length > len(raw):
            break  # cut short: everything before it stands
        if ended:
            raise RecordingTamperedError("data after the end of the recording")
        ended = kind == END
        if kind in kinds:
            try:
                plain = aead.decrypt(
                    _nonce(index), raw[start : start + length], _aad(digest, index, kind)
                )
            except InvalidTag:
                raise RecordingTamperedError(
                    f"chunk {index} failed authentication (a wrong key, or the file was altered)"
                ) from None
            yield kind, plain
        index += 1
        pos = start + length


def decrypt_recording(raw: bytes, key: bytes) -> Recording:
    """Decrypt a recording's bytes with its own file key (see :func:`read_recording`)."""
    return _gathered(raw, key, AUDIO + MARK + END)


def recording_marks(raw: bytes, key: bytes) -> Recording:
    """A recording's header, marks and end summary, its audio left encrypted (``pcm`` empty).

    Decrypts and authenticates only the mark and end chunks (each chunk has its own
    tag); the audio chunks are only walked over, so a changed audio chunk, or a mark
    relabelled as audio, goes unseen here (:func:`decrypt_recording` sees both); a
    changed mark or end does not. For the marks alone, without the cost of the audio.
    """
    return _gathered(raw, key, MARK + END)


def _gathered(raw: bytes, key: bytes, kinds: bytes) -> Recording:
    header, pos = read_header(raw)
    recording = Recording(header)
    audio: list[bytes] = []
    for kind, plain in _chunks(raw, pos, key, kinds):
        if kind == AUDIO:
            audio.append(plain)
        elif kind == MARK:
            recording.marks.append(json.loads(plain))
        else:
            recording.summary = json.loads(plain)
    recording.pcm = b"".join(audio)
    return recording
