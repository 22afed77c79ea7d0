"""The router's example reads kept on disk (sre_agent.skills.readcache): the same reads as
reading again, a damaged file is read past and replaced, a reader change is a new file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sre_agent.skills import readcache
from sre_agent.skills.readcache import read_all, reader_version

TEXTS = ["redis down again", "No space left on device", "p99 latency 4s since the deploy"]


def _reader(calls: list[str]):  # a stand-in reader that records what it was asked
    def read(text: str) -> list[str]:
        calls.append(text)
        return text.lower().split()
    return read


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SRE_AGENT_ARTIFACTS_DIR", str(tmp_path))
    return tmp_path / "cache" / f"router-reads-{reader_version()}.json"


def test_reads_come_back_from_disk_without_reading_again(cache: Path) -> None:
    calls: list[str] = []
    first = read_all(TEXTS, _reader(calls))
    assert calls == TEXTS and cache.is_file()
    again: list[str] = []
    assert read_all(TEXTS[::-1], _reader(again)) == first[::-1]
    assert again == []  # every read came from the file
    assert read_all([*TEXTS, "new text"], _reader(again))[-1] == ["new", "text"]
    assert again == ["new text"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"redis down again": [1]}', ""])
def test_a_damaged_file_is_read_past_and_replaced(cache: Path, content: str) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_text(content)
    calls: list[str] = []
    assert read_all(TEXTS, _reader(calls)) == [t.lower().split() for t in TEXTS]
    assert calls == TEXTS
    assert json.loads(cache.read_text())["redis down again"] == ["redis", "down", "again"]


def test_the_file_name_follows_the_reader_code(monkeypatch: pytest.MonkeyPatch) -> None:
    before = reader_version()
    monkeypatch.setattr(readcache, "_READER_MODULES", readcache._READER_MODULES[:-1])
    assert reader_version() != before


def test_a_symlink_or_fifo_in_its_place_is_not_read(cache: Path, tmp_path: Path) -> None:
    cache.parent.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({t: ["planted"] for t in TEXTS}))
    cache.symlink_to(elsewhere)
    assert read_all(TEXTS, _reader([])) == [t.lower().split() for t in TEXTS]  # not "planted"
    assert json.loads(elsewhere.read_text())[TEXTS[0]] == ["planted"]  # and not written through
    cache.unlink()
    os.mkfifo(cache)  # a reader that opened it blocking would wait here forever
    assert read_all(TEXTS, _reader([])) == [t.lower().split() for t in TEXTS]
