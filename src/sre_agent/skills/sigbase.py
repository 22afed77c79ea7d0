"""What a signature is: a concept added when a text holds one of its words or phrases.

Speed: a signature is a set of whole words (looked up in the text's word set) and a regex of
phrases over the lower-cased text whose alternatives all start with a literal, so the regex
engine can skip ahead; `\\b` at the start of an alternative would make it try every position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Signature:
    concept: str
    words: frozenset[str] = frozenset()  # any of these whole words (lower case)
    phrases: re.Pattern[str] | None = None  # over the lower-cased text
    gate: tuple[str, ...] = ()  # the phrases are only searched if one of these is in the text

    def matches(self, lowered: str, words: set[str]) -> bool:
        if self.words and not self.words.isdisjoint(words):
            return True
        if self.phrases is None or (self.gate and not any(g in lowered for g in self.gate)):
            return False
        return self.phrases.search(lowered) is not None


def sig(concept: str, words: str = "", phrases: str | None = None, gate: str = "") -> Signature:
    """`gate`: substrings separated by `|`, one of which every match of `phrases` holds (a
    substring test is far cheaper than a regex whose alternatives start anywhere)."""
    return Signature(concept, frozenset(words.split()),
                     re.compile(phrases) if phrases else None,
                     tuple(gate.split("|")) if gate else ())

