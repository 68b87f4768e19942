# SPDX-License-Identifier: GPL-2.0-or-later
"""The recording file format on its own: what is written decrypts, and nothing else does.

A file cut anywhere decrypts up to its last whole chunk; a changed byte anywhere
(header, a chunk's kind, length or sealed bytes), chunks swapped, or another key
fail authentication; a full disk raises as the disk does, leaving a file that
still decrypts up to what reached it. The marks alone read the same as from the whole
file, and a changed mark fails there too.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from sip.recording_file import (
    MAGIC,
    RecordingFileError,
    RecordingTamperedError,
    RecordingWriter,
    decrypt_recording,
    file_key,
    read_recording,
    recording_marks,
    salt_of,
)
from tests.tiny_disk import TinyDisk

KEY = bytes(range(32))
SECOND = bytes(range(256)) * 125  # 32000 bytes: a second of 16 kHz audio


def written(path: Path, seconds: int = 3) -> bytes:
    """A complete recording of ``seconds`` chunks with a mark after the first."""
    writer = RecordingWriter(path, KEY, call_id="call-1", sample_rate=16000, created="now")
    for index in range(seconds):
        writer.audio(SECOND)
        if index == 0:
            writer.mark({"fact": "pause", "sample": 16000})
    writer.end({"fact": "end"})
    return path.read_bytes()


def test_a_written_recording_reads_back_whole_with_its_marks(tmp_path: Path) -> None:
    path = tmp_path / "a.clrec"
    raw = written(path)
    assert raw.startswith(MAGIC)
    assert SECOND[:64] not in raw
    assert path.stat().st_mode & 0o777 == 0o600
    recording = read_recording(path, KEY)
    assert recording.complete
    assert recording.pcm == SECOND * 3
    assert recording.marks == [{"fact": "pause", "sample": 16000}]
    assert recording.seconds == 3.0
    with pytest.raises(FileExistsError):
        RecordingWriter(path, KEY, call_id="call-1", sample_rate=16000, created="now")


def test_a_file_cut_anywhere_reads_up_to_its_last_whole_chunk(tmp_path: Path) -> None:
    raw = written(tmp_path / "a.clrec")
    cut = tmp_path / "cut.clrec"
    header_end = raw.index(b"}") + 1
    previous = -1
    for length in [*range(header_end, len(raw), 997), len(raw) - 1]:
        cut.write_bytes(raw[:length])
        recording = read_recording(cut, KEY)
        assert not recording.complete
        assert (SECOND * 3).startswith(recording.pcm)
        assert len(recording.pcm) >= previous
        previous = len(recording.pcm)
    assert previous == len(SECOND) * 3
    cut.write_bytes(raw[: header_end - 1])
    with pytest.raises(RecordingFileError):
        read_recording(cut, KEY)


@pytest.mark.parametrize("where", ["header", "kind", "length", "sealed", "tag"])
def test_a_changed_byte_fails_authentication(tmp_path: Path, where: str) -> None:
    raw = bytearray(written(tmp_path / "a.clrec"))
    header_end = raw.index(b"}") + 1
    first_chunk = header_end
    offsets = {
        "header": raw.index(b"call-1"),
        "kind": first_chunk,
        "length": first_chunk + 4,
        "sealed": first_chunk + 100,
        "tag": first_chunk + 5 + len(SECOND) + 10,
    }
    raw[offsets[where]] ^= 0x01
    path = tmp_path / "changed.clrec"
    path.write_bytes(bytes(raw))
    with pytest.raises(RecordingTamperedError):
        read_recording(path, KEY)


def test_chunks_swapped_or_another_key_fail(tmp_path: Path) -> None:
    path = tmp_path / "a.clrec"
    raw = written(path)
    header_end = raw.index(b"}") + 1
    size = 5 + len(SECOND) + 16
    first, second = (
        raw[header_end : header_end + size],
        raw[header_end + size : header_end + 2 * size],
    )
    swapped = tmp_path / "swapped.clrec"
    swapped.write_bytes(raw[:header_end] + second + first + raw[header_end + 2 * size :])
    with pytest.raises(RecordingTamperedError):
        read_recording(swapped, KEY)
    with pytest.raises(RecordingTamperedError):
        read_recording(path, os.urandom(32))


def test_a_full_disk_raises_and_what_reached_it_still_decrypts(tiny_disk: TinyDisk) -> None:
    path = tiny_disk.path / "a.clrec"
    writer = RecordingWriter(path, KEY, call_id="call-1", sample_rate=16000, created="now")
    writer.audio(SECOND)
    tiny_disk.fill()
    refused = None
    for _ in range(1000):
        try:
            writer.audio(SECOND)
        except OSError as exc:
            refused = exc
            break
    assert refused is not None
    assert refused.errno == errno.ENOSPC
    writer.close()
    tiny_disk.free()
    recording = read_recording(path, KEY)
    assert not recording.complete
    assert recording.pcm.startswith(SECOND)


def test_the_marks_alone_read_as_the_whole_file_and_a_changed_mark_fails(
    tmp_path: Path,
) -> None:
    raw = written(tmp_path / "a.clrec")
    key = file_key(KEY, salt_of(raw))
    whole, alone = decrypt_recording(raw, key), recording_marks(raw, key)
    assert (alone.header, alone.marks, alone.summary) == (whole.header, whole.marks, whole.summary)
    assert alone.marks == [{"fact": "pause", "sample": 16000}]
    assert alone.pcm == b""  # the audio stays encrypted
    mark_at = raw.index(b"}") + 1 + 5 + len(SECOND) + 16  # after the first second's chunk
    assert raw[mark_at : mark_at + 1] == b"M"
    for offset in (0, 10):  # the mark's kind, then its sealed bytes
        changed = bytearray(raw)
        changed[mark_at + offset] ^= 0x01
        with pytest.raises(RecordingTamperedError):
            recording_marks(bytes(changed), key)
    with pytest.raises(RecordingTamperedError):
        recording_marks(raw, os.urandom(32))
