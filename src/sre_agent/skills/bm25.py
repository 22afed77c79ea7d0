"""BM25 Okapi over a small corpus, in plain Python.

The formula of rank_bm25's `BM25Okapi` (k1, b, idf floored at epsilon * mean idf for words in
more than half the documents). rank_bm25 and bm25s import numpy (and bm25s scipy), a quarter
of a second or more at start-up, for a corpus of a few dozen documents. bm25s was measured
against this class inside the router on the train split of tests/data/router/: none of its
variants (lucene, robertson, atire, bm25l, bm25+) routed better, and its per-query scoring was
about twice as slow as the table below. `term_scores` precomputes, for each word, its score in
every document that holds it, so a query costs one dict lookup per word.
"""

from __future__ import annotations

import math
from collections import Counter


class BM25Okapi:
    """BM25 Okapi scores of a query against a small corpus (k1, b, idf floor eps * mean idf)."""

    def __init__(
        self, corpus: list[list[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25
    ) -> None:
        self.k1, self.b = k1, b
        self.doc_freqs = [Counter(doc) for doc in corpus]
        self.doc_len = [len(doc) for doc in corpus]
        self.avgdl = sum(self.doc_len) / len(corpus) if corpus else 0.0
        containing = Counter(word for freqs in self.doc_freqs for word in freqs)
        n = len(corpus)
        self.idf = {w: math.log(n - c + 0.5) - math.log(c + 0.5) for w, c in containing.items()}
        # A word in more than half the documents would score negative: floor it instead.
        floor = epsilon * (sum(self.idf.values()) / len(self.idf)) if self.idf else 0.0
        self.idf = {w: (floor if v < 0 else v) for w, v in self.idf.items()}

    def score(self, word: str, doc: int) -> float:
        """The score one occurrence of `word` in a query adds to document `doc`."""
        idf = self.idf.get(word, 0.0)
        tf = self.doc_freqs[doc].get(word, 0)
        if not idf or not tf:
            return 0.0
        norm = self.k1 * (1 - self.b + self.b * self.doc_len[doc] / self.avgdl)
        return idf * tf * (self.k1 + 1) / (tf + norm)

    def term_scores(self) -> dict[str, list[tuple[int, float]]]:
        """word -> [(document, score of one query occurrence)] for every document holding it."""
        table: dict[str, list[tuple[int, float]]] = {}
        for doc, freqs in enumerate(self.doc_freqs):
            for word in freqs:
                value = self.score(word, doc)
                if value:
                    table.setdefault(word, []).append((doc, value))
        return table

    def get_scores(self, query: list[str]) -> list[float]:
        scores = [0.0] * len(self.doc_freqs)
        for word in query:
            for doc in range(len(scores)):
                scores[doc] += self.score(word, doc)
        return scores
