"""Incident router: pick the skill whose own words best explain an incident text, or abstain.

Every skill is indexed from what it says about itself: its triggers (weighted up, and also
matched as whole phrases), its description and the "Symptoms" section of its body. There is no
keyword table here; the only vocabulary in code is a generic stop-word list and a generic
normaliser (abbreviations, compounds, light stemming). Matching is on words, never substrings:
"report" is not "port", "clock" is not "lock".

Scoring is BM25 Okapi (the formula of rank_bm25's BM25Okapi, in plain Python because rank_bm25
imports numpy, a quarter of a second) over two fields per skill, plus a bonus for each trigger
found in the text (a phrase's words close together, any order, after normalisation). The
confidence multiplies how strong the best score is (saturating) with how much it stands out
from the runner-up, and is cut when none of the best skill's triggers matched (triggers are
what identify a class); below `threshold` the router abstains. There is no fallback skill.

Pure and fast: no SDK import, no network; the index is built once per catalogue content.
"""

from __future__ import annotations

import math
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass

from pydantic import BaseModel, Field

from sre_agent.skills.catalogue import Skill, SkillCatalog, load_catalog

DEFAULT_THRESHOLD = 0.4
CORE_WEIGHT = 1.0  # BM25 over a skill's triggers, id and description
SYMPTOMS_WEIGHT = 0.5  # BM25 over its "Symptoms" section: wordier, so it counts less
TRIGGER_BONUS = 4.0  # added per trigger (word or whole phrase) found in the text
STRENGTH_SCALE = 8.0  # score at which strength reaches 1 - 1/e
MAX_CANDIDATES = 3
NO_TRIGGER_FACTOR = 0.6  # confidence kept when no trigger of the best skill matched
PHRASE_SLACK = 1  # extra words allowed inside a matched trigger phrase

# Generic English and alert boilerplate; nothing here names an incident class.
STOP_WORDS = frozenset(
    """
    a an the and or but if then than so of to in on at by for from with without into onto over
    under about after before since until while during as is are was were be been
    being am do does did done has have had having it its it's this that these those there here
    i me my we our us you your he she they them their his her who whom which what when where why
    how all any each every some no nor not only own same too very can could will would should
    shall may might must just also again still yet ever now please pls thanks thank hi hello
    one two get gets got getting seem seems seemed look looks looking like someone something
    anything everything nothing because via per etc e g i e
    """.split()
)
# Negations are meaningful in phrases ("not ready", "no space left"): keep them out of STOP_WORDS
# for phrase matching but give them no weight on their own.
_WEAK_WORDS = frozenset({"not", "no", "nor"})

# Generic abbreviations and compounds, expanded before stemming.
SYNONYMS: dict[str, str] = {
    "env": "environment",
    "envvar": "environment variable",
    "conf": "config",
    "cfg": "config",
    "configuration": "config",
    "dir": "directory",
    "dirs": "directories",
    "perm": "permission",
    "perms": "permissions",
    "db": "database",
    "conn": "connection",
    "msg": "message",
    "err": "error",
    "lockfile": "lock file",
    "pidfile": "pid file",
    "timeout": "time out",
    "timeouts": "time out",
    "startup": "start up",
    "keyvalue": "key value",
    "unreachable": "not reachable",
    "unavailable": "not available",
    "unready": "not ready",
    "notready": "not ready",
    "unset": "not set",
    "unparseable": "cannot parse",
}

_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_IP_RE = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")
_TOKEN_RE = re.compile(r"[a-z0-9]+")


class Candidate(BaseModel):
    """A skill the router considered, its score and the words that matched."""

    skill: str
    score: float
    evidence: list[str] = Field(default_factory=list)
    triggers: list[str] = Field(default_factory=list, description="the skill's triggers found")


class RouteResult(BaseModel):
    """The routing decision: a skill id, or None with the reason the router abstained."""

    skill: str | None
    confidence: float
    candidates: list[Candidate] = Field(default_factory=list)
    abstained_reason: str | None = None


def stem(word: str) -> str:
    """A light, deterministic suffix stripper (plural, -ing, -ed, final e)."""
    if word.isdigit() or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def tokens(text: str) -> list[tuple[str, str]]:
    """(normalised term, surface word) pairs; stop words dropped, order kept."""
    text = _IP_RE.sub(" ", text)
    text = _CAMEL_RE.sub(" ", text).lower()
    out: list[tuple[str, str]] = []
    for surface in _TOKEN_RE.findall(text):
        if len(surface) < 2 or (surface.isdigit() and len(surface) > 3):
            continue  # single letters; timestamps, ports, pids: values, not symptoms
        for part in SYNONYMS.get(surface, surface).split():
            if part in STOP_WORDS and part not in _WEAK_WORDS:
                continue
            out.append((stem(part), surface))
    return out


def terms(text: str) -> list[str]:
    return [term for term, _ in tokens(text)]


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

    def get_scores(self, query: list[str]) -> list[float]:
        scores = [0.0] * len(self.doc_freqs)
        for word in query:
            idf = self.idf.get(word, 0.0)
            if not idf:
                continue
            for i, freqs in enumerate(self.doc_freqs):
                tf = freqs.get(word, 0)
                norm = self.k1 * (1 - self.b + self.b * self.doc_len[i] / self.avgdl)
                scores[i] += idf * tf * (self.k1 + 1) / (tf + norm)
        return scores


@dataclass(frozen=True)
class _Trigger:
    skill: str
    text: str
    terms: tuple[str, ...]


class _Index:
    """Per skill: BM25 over its own words (two fields) plus its triggers matched as units."""

    def __init__(self, skills: list[Skill]) -> None:
        self.ids = [skill.id for skill in skills]
        core_docs: list[list[str]] = []
        symptom_docs: list[list[str]] = []
        self.vocab: list[set[str]] = []
        self.triggers: list[_Trigger] = []
        for skill in skills:
            core = [t for trig in skill.triggers for t in terms(trig)]
            core += terms(skill.id.replace("-", " ")) + terms(skill.description)
            symptoms = terms(skill.section("Symptoms"))
            core_docs.append([t for t in core if t not in _WEAK_WORDS])
            symptom_docs.append([t for t in symptoms if t not in _WEAK_WORDS])
            self.vocab.append(set(core_docs[-1]) | set(symptom_docs[-1]))
            for trig in skill.triggers:
                trigger_terms = tuple(terms(trig))
                if trigger_terms and set(trigger_terms) - _WEAK_WORDS:
                    self.triggers.append(_Trigger(skill.id, trig, trigger_terms))
        self.core = BM25Okapi(core_docs) if skills else None
        self.symptoms = BM25Okapi(symptom_docs) if skills else None
        # A trigger shared by several skills says less about each of them.
        owners: dict[tuple[str, ...], set[str]] = {}
        for trig in self.triggers:
            owners.setdefault(trig.terms, set()).add(trig.skill)
        self.trigger_weight = {t.terms: 1.0 / len(owners[t.terms]) for t in self.triggers}

    def score(self, text: str) -> list[Candidate]:
        pairs = tokens(text)
        query = [t for t, _ in pairs if t not in _WEAK_WORDS]
        if not query or self.core is None or self.symptoms is None:
            return []
        core = self.core.get_scores(query)
        symptoms = self.symptoms.get_scores(query)
        seq = [t for t, _ in pairs]
        candidates = []
        for i, skill_id in enumerate(self.ids):
            score = CORE_WEIGHT * float(core[i]) + SYMPTOMS_WEIGHT * float(symptoms[i])
            matched: list[str] = []
            covered: set[str] = set()
            for trig in self.triggers:
                if trig.skill == skill_id and _contains(seq, trig.terms):
                    score += TRIGGER_BONUS * self.trigger_weight[trig.terms]
                    matched.append(trig.text)
                    covered.update(trig.terms)
            words = [s for t, s in pairs if t in self.vocab[i] and t not in covered]
            evidence = matched + [w for w in dict.fromkeys(words) if w not in matched]
            if score > 0 and evidence:
                candidates.append(
                    Candidate(
                        skill=skill_id, score=round(score, 4), evidence=evidence, triggers=matched
                    )
                )
        candidates.sort(key=lambda c: (-c.score, c.skill))
        return candidates


def _contains(seq: list[str], phrase: tuple[str, ...]) -> bool:
    """All words of the phrase within a window of len(phrase) + PHRASE_SLACK words, any order.

    "refuses connections" matches "connection refused", "lock is held" matches "held lock";
    a one-word trigger is simply that word.
    """
    n = len(phrase)
    if n == 1:
        return phrase[0] in seq
    needed = set(phrase)
    width = n + PHRASE_SLACK
    return any(needed <= set(seq[i : i + width]) for i in range(max(len(seq) - n + 1, 1)))


_INDEX_CACHE: OrderedDict[tuple[tuple[str, str], ...], _Index] = OrderedDict()
_INDEX_CACHE_SIZE = 8


def _index_for(catalog: SkillCatalog) -> _Index:
    key = catalog.fingerprint()
    index = _INDEX_CACHE.get(key)
    if index is None:
        index = _Index(catalog.skills)
        _INDEX_CACHE[key] = index
        while len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
            _INDEX_CACHE.popitem(last=False)
    else:
        _INDEX_CACHE.move_to_end(key)
    return index


def confidence(top: float, runner_up: float) -> float:
    """Strength of the best score (saturating in 0..1) times its share of the top two."""
    if top <= 0:
        return 0.0
    strength = 1.0 - math.exp(-top / STRENGTH_SCALE)
    share = top / (top + max(runner_up, 0.0))
    return strength * share


def route(
    text: str, catalog: SkillCatalog | None = None, *, threshold: float = DEFAULT_THRESHOLD
) -> RouteResult:
    """Route an incident text to a skill id, or abstain (skill None) with the reason."""
    if catalog is None:
        catalog = load_catalog()
    if not text or not text.strip():
        return RouteResult(skill=None, confidence=0.0, abstained_reason="empty incident text")
    if not catalog.skills:
        return RouteResult(skill=None, confidence=0.0, abstained_reason="no skills in catalogue")
    candidates = _index_for(catalog).score(text)[:MAX_CANDIDATES]
    if not candidates:
        return RouteResult(
            skill=None, confidence=0.0, abstained_reason="no skill matches any word of the text"
        )
    top = candidates[0].score
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    conf = confidence(top, runner_up)
    if not candidates[0].triggers:
        # Triggers are what identify a class (skill contract); words from the description and
        # symptoms alone are weaker evidence, so they must be clearly stronger to route.
        conf *= NO_TRIGGER_FACTOR
    conf = round(conf, 4)
    if conf < threshold:
        reason = (
            f"best match {candidates[0].skill} has confidence {conf:.2f} < {threshold:.2f}: "
            "no skill fits well enough, escalate"
        )
        return RouteResult(
            skill=None, confidence=conf, candidates=candidates, abstained_reason=reason
        )
    return RouteResult(skill=candidates[0].skill, confidence=conf, candidates=candidates)
