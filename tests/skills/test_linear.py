"""The learned classifier (sre_agent.skills.linear) and how the router uses it: its features
are scikit-learn's, its decision values are scikit-learn's, the shipped model is the one the
shipped examples train, and the router records when it changed a decision."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from sre_agent.skills.alerts import routing_text
from sre_agent.skills.catalogue import SkillCatalog, load_catalog
from sre_agent.skills.examples import EXAMPLES_FILE, load_examples
from sre_agent.skills.linear import (
    CHAR_MIN_DF,
    MODEL_FILE,
    TOKEN,
    C,
    LinearModel,
    char_features,
    digest,
    train,
    word_features,
)
from sre_agent.skills.router import RouteResult, _with_classifier, route

DATA = Path(__file__).resolve().parents[1] / "data" / "router"


@pytest.fixture(scope="module")
def catalog() -> SkillCatalog:
    return load_catalog()


def _texts(split: str, limit: int | None = None) -> list[str]:
    lines = (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()][:limit]


def test_the_features_are_scikit_learns_word_and_char_wb_ngrams() -> None:
    word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2),
                           token_pattern=TOKEN.pattern).build_analyzer()
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    texts = [t.lower() for t in _texts("dev")] + ["a", "ab  c", " x\ty \n", "é ñ 日本"]
    for text in texts:
        assert word_features(text) == word(text), text
        assert char_features(text) == char(text), text


def test_decision_values_are_scikit_learns() -> None:
    # a model trained by `train`, and the same pipeline fitted by scikit-learn itself
    docs = [routing_text(t).text for t in _texts("dev2") + _texts("dev3", 150)]
    labels = [json.loads(line)["expected"] for split in ("dev2", "dev3")
              for line in (DATA / f"{split}.jsonl").read_text().splitlines()[
                  :None if split == "dev2" else 150]]
    model = train(docs, labels)
    lowered = [d.lower() for d in docs]
    word = TfidfVectorizer(analyzer=word_features, sublinear_tf=True)
    char = TfidfVectorizer(analyzer=char_features, sublinear_tf=True, min_df=CHAR_MIN_DF)
    x = hstack([word.fit_transform(lowered), char.fit_transform(lowered)]).tocsr()
    svc = LinearSVC(C=C, random_state=0).fit(x, [label or "" for label in labels])
    probe = [t.lower() for t in _texts("dev4", 120)]
    expected = svc.decision_function(
        hstack([word.transform(probe), char.transform(probe)]).tocsr())
    got = np.array([model.decision(text) for text in probe])
    assert list(model.classes) == [str(c) for c in svc.classes_]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_saved_model_decides_as_the_trained_one(tmp_path: Path) -> None:
    docs = [routing_text(t).text for t in _texts("dev5", 200)]
    labels = [json.loads(line)["expected"]
              for line in (DATA / "dev5.jsonl").read_text().splitlines()[:200]]
    model = train(docs, labels)
    model.save(tmp_path / "m.npz")
    loaded = LinearModel.load(tmp_path / "m.npz")
    assert loaded is not None and loaded.trained_on == model.trained_on
    for text in _texts("dev6", 150):
        a, b = model.probabilities(text), loaded.probabilities(text)
        assert max(a, key=a.__getitem__) == max(b, key=b.__getitem__)
        assert all(abs(a[k] - b[k]) < 0.01 for k in a)
    assert LinearModel.load(tmp_path / "absent.npz") is None


def test_the_shipped_model_is_trained_on_the_shipped_examples(catalog: SkillCatalog) -> None:
    ids = set(catalog.ids())
    examples = load_examples(EXAMPLES_FILE)
    shipped = LinearModel.load(MODEL_FILE)
    assert shipped is not None
    assert shipped.trained_on == digest([routing_text(e.text).text for e in examples],
                                        [e.label(ids) for e in examples]), (
        "rebuild with `uv run python bench/build_router_examples.py`")


def test_the_classifier_can_pick_where_the_words_alone_abstain(catalog: SkillCatalog) -> None:
    text = "volume /var/lib/app full, checkout 503"
    assert route(text, catalog, learned=False).skill is None
    result = route(text, catalog)
    assert result.skill == "disk-full" and result.decided_by == "classifier"
    assert result.classifier["disk-full"] == result.confidence > 0.5
    assert result.abstained_reason is None


def test_the_classifier_can_overrule_a_pick_with_the_reason(catalog: SkillCatalog) -> None:
    text = "whats the redis password for prod again, need it for a script"
    assert route(text, catalog, learned=False).skill == "cache-password-rotated"
    result = route(text, catalog)
    assert result.skill is None and result.decided_by == "classifier"
    assert "overruled by the learned classifier" in (result.abstained_reason or "")
    assert result.classifier["none"] > 0.5


def test_an_agreeing_classifier_leaves_the_decision_and_shows_its_view(
        catalog: SkillCatalog) -> None:
    result = route("No space left on device", catalog)
    assert result.skill == "disk-full" and result.decided_by == "router"
    assert next(iter(result.classifier)) == "disk-full"


def test_the_classifier_picks_only_among_the_allowed_skills(catalog: SkillCatalog) -> None:
    text = "volume /var/lib/app full, checkout 503"
    among = {"dependency-down", "slow-response"}
    result = route(text, catalog, among=among)
    assert result.skill in among | {None}
    assert set(result.classifier) <= among | {"none"}


def test_no_examples_no_classifier(catalog: SkillCatalog) -> None:
    result = route("volume /var/lib/app full, checkout 503", catalog, examples=())
    assert result.classifier == {} and result.decided_by == "router"


def test_a_pick_of_a_skill_no_example_is_about_stands(catalog: SkillCatalog) -> None:
    # a user's pack: the router picked its skill; the classifier never saw it and stays out
    picked = RouteResult(skill="my-own-runbook", confidence=0.9)
    text = "whats the redis password for prod again, need it for a script"  # "none" to it
    assert _with_classifier(picked, text, catalog, None, None) == picked
