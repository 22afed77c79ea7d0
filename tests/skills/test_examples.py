"""The router's example vote (sre_agent.skills.examples): what the nearest labelled incidents
do to a lexical match, and where the shipped examples come from."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sre_agent.skills import examples as examples_module
from sre_agent.skills.catalogue import SkillCatalog, load_catalog
from sre_agent.skills.evaluate import splits
from sre_agent.skills.examples import EXAMPLES_FILE, Example, ExampleIndex, load_examples
from sre_agent.skills.router import route

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "router"
TEXT = "the api is slow, p99 latency is 4s since the morning"
# Texts far from TEXT, so that BM25's word statistics are those of a real set.
OTHERS = tuple(Example(text=t, expected="disk-full") for t in (
    "no space left on device", "disk 100% full on /var", "ENOSPC writing the log",
    "volume full, writes fail", "df shows the data disk full", "out of disk space again",
    "the partition ran out of inodes", "tmp filled up the disk", "disk usage alert 98%",
    "cannot write: device full")) + tuple(
    Example(text=t, expected="slow-response") for t in (
        "requests take 9 seconds since the deploy", "timeouts from the gateway, the upstream "
        "answers in 12s"))


@pytest.fixture(scope="module")
def catalog() -> SkillCatalog:
    return load_catalog()


def _texts(split: str) -> set[str]:
    lines = (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["text"] for line in lines if line.strip()}


def test_shipped_examples_are_the_tuning_splits_and_never_held_out() -> None:
    shipped = [e.text for e in load_examples(EXAMPLES_FILE)]
    assert len(shipped) == len(set(shipped))
    tuning_splits, held_out = splits(DATA)
    tuning = set().union(*(_texts(split) for split in tuning_splits))
    assert set(shipped) == tuning, "rebuild with `uv run python bench/build_router_examples.py`"
    for split in held_out:
        assert not set(shipped) & _texts(split), split


def test_without_examples_the_lexical_match_stands(catalog: SkillCatalog) -> None:
    lexical = route(TEXT, catalog, examples=())
    assert lexical.skill == "slow-response"
    assert lexical.example_votes == {}


def test_neighbours_no_runbook_covers_overrule_a_lexical_match(catalog: SkillCatalog) -> None:
    foreign = tuple(Example(text=f"{TEXT} on host {i}", expected=None) for i in range(6))
    foreign += OTHERS
    result = route(TEXT, catalog, examples=foreign, learned=False)
    assert result.skill is None
    assert result.example_votes["none"] > 0.9
    assert "overruled" in (result.abstained_reason or "")
    assert result.candidates and result.candidates[0].skill == "slow-response"


def test_agreeing_neighbours_move_the_pick_to_another_candidate(catalog: SkillCatalog) -> None:
    lexical = route(TEXT, catalog, examples=())
    others = [c.skill for c in lexical.candidates[1:]]
    assert others, "the text needs a runner-up for this test"
    votes = tuple(Example(text=f"{TEXT} again {i}", expected=others[0])
                  for i in range(6)) + OTHERS
    assert route(TEXT, catalog, examples=votes, learned=False).skill == others[0]
    # A skill that is not among the lexical candidates is never picked by the vote alone.
    outsider = next(s for s in catalog.ids() if s not in {c.skill for c in lexical.candidates})
    votes = tuple(Example(text=f"{TEXT} again {i}", expected=outsider)
                  for i in range(6)) + OTHERS
    assert route(TEXT, catalog, examples=votes, learned=False).skill == "slow-response"


def test_a_pick_no_example_is_about_is_left_alone(catalog: SkillCatalog) -> None:
    # A user's pack skill has no examples: votes of "none" cannot overrule it.
    foreign = tuple(Example(text=f"{TEXT} on host {i}", expected=None) for i in range(6))
    foreign += OTHERS[:10]  # the disk examples only: nothing about slow-response
    result = route(TEXT, catalog, examples=foreign)
    assert result.skill == "slow-response" and result.example_votes == {}


def test_an_example_of_a_skill_not_loaded_votes_for_none() -> None:
    example = Example(text="x", expected="not-installed", fallback=None)
    assert example.label({"slow-response"}) is None
    assert Example(text="x", expected="not-installed", fallback="slow-response").label(
        {"slow-response"}) == "slow-response"


def test_index_votes_by_similarity_share() -> None:
    index = ExampleIndex([["redis", "oom"], ["redis", "auth"], ["disk", "full"]],
                         ["a", "b", None], ["t1", "t2", "t3"])
    vote = index.vote(["redis", "oom"])
    assert vote.top[0] == "a" and vote.nearest == "t1"
    assert vote.share("b") > 0 and vote.share(None) == 0
    assert index.vote(["nothing"]).shares == ()


def test_the_shipped_set_is_one_object_even_when_threads_ask_first_together() -> None:
    """The router keeps one index per example set (by identity): two sets, two builds."""
    examples_module._shipped.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        sets = list(pool.map(lambda _: examples_module.shipped_examples(), range(8)))
    assert sets[0] and all(s is sets[0] for s in sets)
