"""Atomic writes leave the old file or the new one, never a part or a stray temp file; file hashes
stream."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from eduopen.core import files
from eduopen.core.files import atomic_write, atomic_write_json, atomic_write_text, file_sha256, sha256_hex


def test_atomic_write_creates_missing_folders_and_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "state.bin"
    atomic_write(target, b"first")
    atomic_write(target, b"second")

    assert target.read_bytes() == b"second"
    assert os.listdir(target.parent) == ["state.bin"]


def test_the_written_file_is_readable_by_others(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    atomic_write_text(target, "<p>报告</p>")

    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.read_text(encoding="utf-8") == "<p>报告</p>"


def test_a_write_that_fails_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state.json"
    target.write_text("old", encoding="utf-8")

    def crash(*args: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write(target, b"new")

    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["state.json"]


def test_the_data_is_fsynced_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(files.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(files.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])

    atomic_write(tmp_path / "x", b"data")

    assert calls == ["fsync", "replace"]


def test_json_keeps_non_ascii_text_and_takes_dump_options(tmp_path: Path) -> None:
    target = tmp_path / "watch.json"
    atomic_write_json(target, {"b": 1, "a": "教育部"}, indent=1, sort_keys=True)

    text = target.read_text(encoding="utf-8")
    assert text == json.dumps({"a": "教育部", "b": 1}, ensure_ascii=False, indent=1)


def test_file_sha256_over_several_chunks_matches_hashing_the_whole(tmp_path: Path) -> None:
    data = os.urandom((1 << 20) * 2 + 12345)
    path = tmp_path / "big.bin"
    path.write_bytes(data)

    assert file_sha256(path) == hashlib.sha256(data).hexdigest() == sha256_hex(data)
