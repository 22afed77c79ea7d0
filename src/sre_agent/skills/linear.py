"""A learned reader next to the hand-written one: a linear classifier over an incident text's
words and character n-grams, trained on the labelled examples.

The router's masks, signatures and synonyms were written from the misses of the tuning splits;
on text nobody had seen (each new split, routed before any change made for it) they reached
~89-93% top-1. A TF-IDF linear classifier trained on the same examples reached ~94% on those
rounds and 99.4% / 95.2% (top-1 / abstention) on dev8, routed once with its settings fixed in
advance (`bench/router_linear.py`, tests/data/router/README.md). The router combines both:
the classifier's probabilities, plus a bonus for the router's own decision (`route`).

The features are scikit-learn's `TfidfVectorizer` ones, computed here in plain Python and
numpy so routing needs no scikit-learn: word 1-2grams (`TOKEN`) and `char_wb` 2-5grams (only
those in at least two examples), sublinear tf, idf, each block L2-normalised. Training
(`train`, scikit-learn's LinearSVC, imported only then) happens when the shipped model
(`data/linear.npz`, built by `bench/build_router_examples.py`) does not fit the example set
or the catalogue's labels, e.g. an evaluation that leaves a split's own texts out. The file
holds arrays only (no pickle).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sre_agent.skills.alerts import routing_text
from sre_agent.skills.catalogue import SkillCatalog
from sre_agent.skills.examples import Example
from sre_agent.skills.indexcache import cached

MODEL_FILE = Path(__file__).resolve().parent / "data" / "linear.npz"
C = 0.5  # LinearSVC regularisation (chosen on the fresh rounds, bench/router_linear.py)
TEMPERATURE = 3.0  # probabilities: softmax(TEMPERATURE x decision value)
# The router's own decision gets FUSE_BONUS x its confidence (a pick) or FUSE_BONUS x
# FUSE_ABSTAIN (an abstention) added to its probability before the argmax: chosen on the fresh
# rounds, nested (bench/router_linear.py `wfuse`; it beat a flat bonus and a confidence gate).
FUSE_BONUS = 0.2
FUSE_ABSTAIN = 0.75
TOKEN = re.compile(r"(?u)\b\w[\w.-]*\w\b|\b\w\b")
CHAR_MIN_DF = 2  # a character n-gram must appear in this many examples to be a feature
NONE = ""  # the class "no runbook covers it"
_SPACES = re.compile(r"\s\s+")


def word_features(doc: str) -> list[str]:
    """Words and word pairs (scikit-learn's word analyzer, ngram_range (1, 2))."""
    words = TOKEN.findall(doc)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def char_features(doc: str) -> list[str]:
    """Character 2-5grams inside word boundaries (scikit-learn's `char_wb`)."""
    grams: list[str] = []
    for word in _SPACES.sub(" ", doc).split():
        padded = f" {word} "
        size = len(padded)
        for n in range(2, 6):
            if size <= n:  # a short word counts once, whole
                grams.append(padded)
                break
            grams.extend(padded[i:i + n] for i in range(size - n + 1))
    return grams


def digest(docs: Sequence[str], labels: Sequence[str | None]) -> str:
    """What a model was trained on: its documents and labels, in order."""
    h = hashlib.sha256()
    for doc, label in zip(docs, labels, strict=True):
        h.update(doc.encode())
        h.update(b"\x00")
        h.update((label or NONE).encode())
        h.update(b"\x01")
    return h.hexdigest()


@dataclass
class LinearModel:
    classes: tuple[str, ...]  # NONE for "no runbook covers it"
    word_vocab: dict[str, int]
    word_idf: np.ndarray
    char_vocab: dict[str, int]
    char_idf: np.ndarray
    weights: np.ndarray  # (word features + char features, classes)
    intercept: np.ndarray  # (classes,)
    trained_on: str  # `digest` of the training set

    def decision(self, doc: str) -> np.ndarray:
        """The decision value of each class for a text as the router reads it."""
        scores = self.intercept.astype(np.float64)
        offset = len(self.word_vocab)
        for grams, vocab, idf, base in ((word_features(doc), self.word_vocab, self.word_idf, 0),
                                        (char_features(doc), self.char_vocab, self.char_idf,
                                         offset)):
            counts = Counter(map(vocab.get, grams))  # in C; grams not in the vocabulary: None
            counts.pop(None, None)
            if not counts:
                continue
            index = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = np.fromiter((1.0 + math.log(n) for n in counts.values()), dtype=np.float64,
                             count=len(counts))
            values = tf * idf[index]
            values /= np.sqrt(values @ values)
            scores = scores + values @ self.weights[index + base].astype(np.float64)
        return scores

    def probabilities(self, doc: str) -> dict[str | None, float]:
        """Each class's pseudo-probability (None: no runbook covers it)."""
        scores = TEMPERATURE * self.decision(doc.lower())
        e = np.exp(scores - scores.max())
        p = e / e.sum()
        return {(c or None): float(v) for c, v in zip(self.classes, p, strict=True)}

    def save(self, path: Path) -> None:
        def joined(vocab: dict[str, int]) -> np.ndarray:
            words = sorted(vocab, key=vocab.__getitem__)
            return np.frombuffer("\n".join(words).encode(), dtype=np.uint8)

        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, classes=joined({c: i for i, c in enumerate(self.classes)}),
            word_vocab=joined(self.word_vocab), word_idf=self.word_idf.astype(np.float32),
            char_vocab=joined(self.char_vocab), char_idf=self.char_idf.astype(np.float32),
            weights=self.weights.astype(np.float16), intercept=self.intercept,
            trained_on=np.frombuffer(self.trained_on.encode(), dtype=np.uint8))
        path.write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> LinearModel | None:
        """The model in `path` (None if there is none)."""
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            def split(key: str) -> list[str]:
                text = data[key].tobytes().decode()
                return text.split("\n") if text else []

            classes = split("classes")
            return cls(classes=tuple(classes),
                       word_vocab={w: i for i, w in enumerate(split("word_vocab"))},
                       word_idf=data["word_idf"].astype(np.float64),
                       char_vocab={w: i for i, w in enumerate(split("char_vocab"))},
                       char_idf=data["char_idf"].astype(np.float64),
                       weights=data["weights"].astype(np.float32),
                       intercept=data["intercept"].astype(np.float64),
                       trained_on=data["trained_on"].tobytes().decode())


def fuse(probabilities: dict[str | None, float], allowed: set[str], mine: str | None,
         confidence: float) -> tuple[dict[str | None, float], str | None]:
    """The classifier's probabilities over the allowed skills and None, and the combined pick:
    the router's decision (`mine`) gets FUSE_BONUS x its confidence (x FUSE_ABSTAIN for an
    abstention) added before the argmax."""
    p = {label: v for label, v in probabilities.items() if label is None or label in allowed}
    scores = dict(p)
    scores[mine] = scores.get(mine, 0.0) + FUSE_BONUS * (
        FUSE_ABSTAIN if mine is None else confidence)
    return p, max(scores, key=lambda label: (scores[label], label or ""))


@lru_cache(maxsize=1)
def _shipped() -> LinearModel | None:
    return LinearModel.load()  # read once per process, whichever example sets are built


def model_for(catalog: SkillCatalog, examples: Sequence[Example]) -> LinearModel | None:
    """The classifier for this example set under this catalogue's labels: the shipped one if
    it was trained on exactly that, else trained now (seconds: an evaluation leaving a split's
    texts out, or a catalogue whose labels differ). None without two labels to tell apart."""
    def build() -> tuple[Sequence[Example], LinearModel | None]:
        ids = set(catalog.ids())
        docs = [routing_text(e.text).text for e in examples]
        labels = [e.label(ids) for e in examples]
        if len(set(labels)) < 2:
            return examples, None
        shipped = _shipped()
        if shipped is not None and shipped.trained_on == digest(docs, labels):
            return examples, shipped
        return examples, train(docs, labels)

    return cached(("linear", catalog.fingerprint(), id(examples)), build)[1]


def train(docs: Sequence[str], labels: Sequence[str | None]) -> LinearModel:
    """Fit the classifier on texts as the router reads them (scikit-learn, imported here: it
    costs seconds, and routing with a trained model does not need it)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    lowered = [doc.lower() for doc in docs]
    word = TfidfVectorizer(analyzer=word_features, sublinear_tf=True)
    char = TfidfVectorizer(analyzer=char_features, sublinear_tf=True, min_df=CHAR_MIN_DF)
    features = hstack([word.fit_transform(lowered), char.fit_transform(lowered)]).tocsr()
    model = LinearSVC(C=C, random_state=0).fit(features, [label or NONE for label in labels])
    return LinearModel(
        classes=tuple(str(c) for c in model.classes_),
        word_vocab={str(k): int(v) for k, v in word.vocabulary_.items()},
        word_idf=np.asarray(word.idf_, dtype=np.float64),
        char_vocab={str(k): int(v) for k, v in char.vocabulary_.items()},
        char_idf=np.asarray(char.idf_, dtype=np.float64),
        weights=np.ascontiguousarray(model.coef_.T, dtype=np.float32),
        intercept=np.asarray(model.intercept_, dtype=np.float64),
        trained_on=digest(docs, labels))


__all__ = ["FUSE_ABSTAIN", "FUSE_BONUS", "MODEL_FILE", "LinearModel", "char_features", "digest",
           "fuse", "model_for", "train", "word_features"]
