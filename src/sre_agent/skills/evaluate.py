"""Router evaluation over a labelled JSONL set of incident texts.

A row is `{"text", "expected": <skill id> | null, "style", "note"?, "fallback"?}`. `expected`
is the skill that handles the text when every skill of the project is loaded; `fallback` (a
skill id or absent) is the right pick when `expected` is not in the catalogue being evaluated
(e.g. a scenario pack's skill is not installed). `accept` lists other skills that are
also right when the text cannot tell them apart (two skills for the same root cause, one of
them from a pack). A row whose effective expectation is None is out of catalogue: the router
must abstain on it.

Figures: top-1 accuracy over in-catalogue rows, the correct-abstention rate over
out-of-catalogue rows, the number of wrong picks (a skill chosen where another one, or none,
was expected) and the confusion pairs. Pure: nothing is printed here.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from sre_agent.skills.catalogue import SkillCatalog
from sre_agent.skills.examples import Example, shipped_examples
from sre_agent.skills.router import DEFAULT_THRESHOLD, route


class Row(Example):
    """One labelled incident text."""

    style: str = "unknown"
    note: str | None = None
    accept: list[str] = Field(default_factory=list)

    def target(self, skill_ids: set[str]) -> str | None:
        """The skill the router must pick from a catalogue holding `skill_ids` (None: abstain)."""
        return self.label(skill_ids)

    def is_right(self, got: str | None, skill_ids: set[str]) -> bool:
        """Whether routing to `got` is right for a catalogue holding `skill_ids`."""
        target = self.target(skill_ids)
        return got == target or (target is not None and got in self.accept)


class Miss(BaseModel):
    """A row the router got wrong."""

    text: str
    style: str
    expected: str | None
    got: str | None
    confidence: float
    runner_up: str | None = None


class Evaluation(BaseModel):
    """The figures of one labelled set against one catalogue."""

    rows: int
    in_catalogue: int
    correct: int
    out_of_catalogue: int
    abstained: int
    wrong_picks: int = Field(description="a skill chosen where another skill or none was due")
    misses: list[Miss] = Field(default_factory=list)
    confusion: list[tuple[str, str, int]] = Field(
        default_factory=list, description="(expected or '-', got or '-', count), most first"
    )

    @property
    def top1(self) -> float:
        return self.correct / self.in_catalogue if self.in_catalogue else 1.0

    @property
    def abstention(self) -> float:
        return self.abstained / self.out_of_catalogue if self.out_of_catalogue else 1.0

    def summary(self) -> str:
        """One line of figures."""
        return (
            f"top-1 {self.correct}/{self.in_catalogue} = {self.top1:.3f} in catalogue; "
            f"abstained {self.abstained}/{self.out_of_catalogue} = {self.abstention:.3f} "
            f"outside; {self.wrong_picks} wrong picks"
        )

    def details(self) -> str:
        """The summary, the confusion pairs and every miss, one per line."""
        lines = [self.summary()]
        lines += [f"  {exp} -> {got}: {n}" for exp, got, n in self.confusion]
        for m in self.misses:
            text = " ".join(m.text.split())[:150]
            lines.append(f"  [{m.style}] expected {m.expected}, got {m.got} "
                         f"({m.confidence:.2f}; runner-up {m.runner_up}): {text}")
        return "\n".join(lines)


HELD_OUT_PREFIX = "heldout"


def splits(folder: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The labelled sets of a folder (one `<name>.jsonl` each), as (tuning, held out): a set
    whose name starts with "heldout" is for reporting only, every other one is for tuning (and
    the router's shipped examples). Each in its natural order: train, dev, dev2 ... dev10."""
    def order(name: str) -> tuple[str, int]:
        stem = name.rstrip("0123456789")
        return ("" if stem == "train" else stem, int(name[len(stem):] or 0))

    names = sorted((p.stem for p in Path(folder).glob("*.jsonl")), key=order)
    held = tuple(n for n in names if n.startswith(HELD_OUT_PREFIX))
    return tuple(n for n in names if n not in held), held


def load_rows(path: Path) -> list[Row]:
    """The rows of a JSONL file (blank lines skipped)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [Row.model_validate(json.loads(line)) for line in lines if line.strip()]


def evaluate(
    rows: list[Row], catalog: SkillCatalog, *, threshold: float = DEFAULT_THRESHOLD,
    examples: Sequence[Example] | None = None,
) -> Evaluation:
    """Route every row against `catalog` and count.

    The router's example vote uses `examples` (default: the shipped set) less every example
    whose text is one of the rows: a text never votes for itself, so the figures of a split the
    examples were built from measure the other splits' help, not memory.
    """
    ids = set(catalog.ids())
    texts = {row.text for row in rows}
    pool = shipped_examples() if examples is None else examples
    voters = tuple(e for e in pool if e.text not in texts)
    in_cat = correct = out_cat = abstained = wrong = 0
    misses: list[Miss] = []
    pairs: Counter[tuple[str, str]] = Counter()
    for row in rows:
        target = row.target(ids)
        result = route(row.text, catalog, threshold=threshold, examples=voters)
        right = row.is_right(result.skill, ids)
        if target is None:
            out_cat += 1
            abstained += right
        else:
            in_cat += 1
            correct += right
        if not right:
            wrong += result.skill is not None
            pairs[(target or "-", result.skill or "-")] += 1
            runner = [c.skill for c in result.candidates if c.skill != result.skill]
            misses.append(Miss(text=row.text, style=row.style, expected=target,
                               got=result.skill, confidence=result.confidence,
                               runner_up=runner[0] if runner else None))
    confusion = [(e, g, n) for (e, g), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))]
    return Evaluation(rows=len(rows), in_catalogue=in_cat, correct=correct,
                      out_of_catalogue=out_cat, abstained=abstained, wrong_picks=wrong,
                      misses=misses, confusion=confusion)
