"""The risk corpora (tests/data/risk): every dangerous command is HIGH, no benign one is."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sre_agent.safety import Risk, RiskVerdict, assess_command

DATA = Path(__file__).parent.parent / "data" / "risk"


def _corpus(name: str) -> list[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _judge_all(lines: list[str], ws: Path) -> list[tuple[str, RiskVerdict]]:
    return [(ln, assess_command(ln.replace("{W}", str(ws)), ws)) for ln in lines]


def test_dangerous_corpus_is_high(ws: Path) -> None:
    lines = _corpus("dangerous.txt")
    assert len(lines) >= 320
    missed = [(ln, v) for ln, v in _judge_all(lines, ws) if v.risk != Risk.HIGH]
    report = "\n".join(f"{v.risk.value:6} {ln}  <- {v.reasons[:2]}" for ln, v in missed)
    assert not missed, f"{len(missed)} dangerous not HIGH:\n{report}"


def test_benign_corpus_is_not_high(ws: Path) -> None:
    lines = _corpus("benign.txt")
    assert len(lines) >= 320
    flagged = [(ln, v) for ln, v in _judge_all(lines, ws) if v.risk == Risk.HIGH]
    report = "\n".join(f"HIGH   {ln}  <- {v.reasons[:2]}" for ln, v in flagged)
    assert not flagged, f"{len(flagged)} benign rated HIGH:\n{report}"


def test_corpus_batch_speed_is_reported(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sre_agent.safety.shell.parse import parse

    lines = _corpus("dangerous.txt") + _corpus("benign.txt")
    parse.cache_clear()  # measure cold parses, not the cache
    start = time.perf_counter()
    _judge_all(lines, ws)
    per = (time.perf_counter() - start) / len(lines) * 1000
    with capsys.disabled():
        print(f"\nassess_command: {per:.2f} ms/command over {len(lines)} commands")
