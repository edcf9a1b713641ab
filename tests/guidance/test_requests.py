"""The request classifier (bot/guidance/_requests.py): requests the guidance cannot meet, in wordings
no pattern was written for, are declined with the reply their shape calls for; questions in the
same words, and short follow-ups, still get their answer."""

import json
import subprocess
import sys

import numpy as np
import pytest

from bot.guidance import GuidanceDesk, GuidanceIndex
from bot.guidance._answer import PERSONAL_REQUEST
from bot.guidance._evaluation import choose_request_threshold, load_questions, rank_all
from bot.guidance._requests import REQUEST_THRESHOLD, RequestClassifier, load_requests, requests_path
from bot.settings import Settings
from tests.guidance.test_conversation import converse

PAGES = Settings.from_env().knowledge_dir / "pages"


# none of these is in requests.yml, an outside topic or an evaluation split, and no pattern of
# _answer.py or _outside.py catches them
TASKS_AND_PARTICULARS = [
    "ring the fca on our behalf and chase our society's registration",
    "which payroll company should our new cic go with",
    "has explore york's chief officer had a pay rise this year",
    "type up a members' newsletter about our agm",
]


@pytest.mark.slow
@pytest.mark.parametrize("text", TASKS_AND_PARTICULARS)
def test_a_request_no_pattern_knows_is_declined_with_the_adviser_offered(desk, text):
    answer = desk.answer(text)
    assert not answer.answered and answer.reason == "personal_request", (text, answer.text)
    assert answer.text == PERSONAL_REQUEST
    assert answer.buttons[-1].payload == "/request_human"


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, shape",
    [
        ("which payroll company should our new cic go with", "recommendation"),
        ("ring the fca on our behalf and chase our society's registration", "task"),
        ("just invent a number for me, nobody will check", "invented_or_role"),
        ("is there a version of the cic over in the netherlands", "other_country"),
    ],
)
def test_a_declined_request_is_given_its_shape(guidance_index, text, shape):
    classifier = guidance_index.request_classifier
    assert classifier.shape(text, guidance_index.embedder.encode_one(text)) == shape


@pytest.mark.slow
def test_another_countrys_law_in_new_words_gets_the_other_countries_signpost(desk):
    answer = desk.answer("is there a version of the cic over in the netherlands or do dutch groups use something else")
    assert not answer.answered and answer.reason == "outside_guidance", answer.text
    assert "other countr" in answer.text.lower() or "outside what this guidance covers" in answer.text


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, slug",
    [
        ("can you explain how tupe protects our pay when we move across", "tupe-staff-transfer"),
        ("will my lgps pension be safe if the service spins out", "lgps-admitted-body-status"),
        ("which legal form should a group of care workers pick for a co-op", "choosing-a-legal-form"),
        ("how much can one person put into a community share offer", "community-shares"),
    ],
)
def test_questions_in_the_same_shapes_are_still_answered(desk, text, slug):
    answer = desk.answer(text)
    assert answer.answered and answer.sources[0].slug == slug, (text, answer.reason, answer.text)


@pytest.mark.slow
def test_a_short_follow_up_is_not_judged_on_its_own_words(desk):
    # "any catch?" alone reads like a personal question; after a grants answer it is about grants
    first, reply = converse(desk, "can a mutual get grant funding from the national lottery", "any catch?")
    assert first.answered and reply.answered and reply.sources[0].slug == "grants", reply.text


@pytest.mark.slow
def test_the_evaluation_declines_what_the_desk_declines(guidance_index):
    questions = [q for q in load_questions(PAGES.parent / "questions") if q.split == "tune"]
    vectors = guidance_index.embedder.encode([q.text for q in questions])
    with_rule = rank_all(guidance_index, questions, "hybrid", vectors=vectors)
    without = rank_all(guidance_index, questions, "hybrid", vectors=vectors, request_threshold=None)
    desk = GuidanceDesk(guidance_index, "http://guidance.test")
    changed = [a.question for a, b in zip(with_rule, without) if a.confidence == -1.0 and b.confidence != -1.0]
    assert changed  # the classifier declines some tune questions the other rules let through
    for q in changed:
        assert desk.answer(q.text).reason in ("personal_request", "outside_guidance"), q.text


@pytest.mark.slow
def test_the_threshold_in_use_is_the_one_the_rule_chooses_on_tune():
    # re-run `mutuals eval retrieval --split tune --requests` and change REQUEST_THRESHOLD when this fails
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "eval", "retrieval", "--requests", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["chosen"] == result["in_use"] == REQUEST_THRESHOLD
    off = result["thresholds"][0]
    chosen = next(r for r in result["thresholds"] if r["request_threshold"] == REQUEST_THRESHOLD)
    assert off["request_threshold"] is None
    assert chosen["declined_unanswerable"] > off["declined_unanswerable"]
    assert chosen["declined_answerable"] <= 0.03


def test_the_rule_takes_the_lowest_threshold_within_the_budget():
    rows = [
        {"request_threshold": None, "declined_unanswerable": 0.9, "declined_answerable": 0.02},
        {"request_threshold": 0.7, "declined_unanswerable": 1.0, "declined_answerable": 0.06},
        {"request_threshold": 0.8, "declined_unanswerable": 0.97, "declined_answerable": 0.03},
        {"request_threshold": 0.9, "declined_unanswerable": 0.95, "declined_answerable": 0.02},
    ]
    assert choose_request_threshold(rows) == 0.8
    assert choose_request_threshold(rows[:2]) is None


def test_the_examples_cover_every_shape_and_load():
    examples = load_requests(PAGES)
    shapes = {shape for _, shape in examples.declined}
    assert len(shapes) == 8 and len(examples.declined) >= 500 and len(examples.answered) >= 300
    assert len(set(examples.texts)) == len(examples.texts)


def test_an_unknown_shape_is_named(tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    requests_path(pages).parent.mkdir()
    requests_path(pages).write_text('declined:\n  gossip: ["who fancies who"]\nanswered: ["what is a cic"]\n')
    with pytest.raises(ValueError, match="unknown shape 'gossip'"):
        load_requests(pages)
    requests_path(pages).write_text('declined:\n  task: ["draft our rules"]\n')
    with pytest.raises(ValueError, match="both declined and answered"):
        load_requests(pages)


def test_no_examples_means_no_classifier(tmp_path):
    assert load_requests(tmp_path / "pages").declined == ()
    with pytest.raises(ValueError, match="declined and answered"):
        RequestClassifier([], np.zeros((0, 3)), ["what is a cic"], np.ones((1, 3)))


def test_the_classifier_learns_the_shape_from_its_words():
    # words only (an embedding of zeros): the shape words decide
    declined = [
        ("write our letter for us", "task"),
        ("draft my appeal for me", "task"),
        ("which firm should we hire", "recommendation"),
    ]
    answered = ["how does a letter of objection work", "what is an appeal", "what does a firm need to register"]
    zeros = np.zeros((3, 4))
    classifier = RequestClassifier(declined, zeros, answered, zeros)
    assert classifier.probability("please write our minutes for us", np.zeros(4)) > 0.5
    assert classifier.probability("what does a society need to register", np.zeros(4)) < 0.5


@pytest.mark.slow
def test_the_index_keeps_the_examples_embeddings(guidance_index, tmp_path):
    examples = load_requests(PAGES)
    assert guidance_index.request_embeddings.shape == (len(examples.texts), guidance_index.embeddings.shape[1])
    assert guidance_index.request_classifier is not None
    with pytest.raises(ValueError, match="request examples"):
        GuidanceIndex(
            list(guidance_index.pages.values()),
            guidance_index.embeddings,
            guidance_index.page_embeddings,
            requests=examples,
            request_embeddings=guidance_index.request_embeddings[:-1],
        )


def test_the_probability_is_the_regressions_own():
    # probabilities() works the formula out from the weights; it must be what sklearn would say
    rng = np.random.default_rng(7)
    declined = [
        ("write our letter for us", "task"),
        ("which firm should we hire", "recommendation"),
        ("make up a figure", "invented_or_role"),
    ]
    answered = ["how does a letter of objection work", "what does a firm need to register", "what is an asset lock"]
    dv, av = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    classifier = RequestClassifier(declined, dv, answered, av, embedding_weight=0.7)
    texts, vectors = ["please write our minutes", "what is a firm"], rng.normal(size=(2, 5))
    features = classifier._features(classifier._words.transform(texts), vectors)
    expected = classifier._model.predict_proba(features)[:, 1]
    assert np.allclose(classifier.probabilities(texts, vectors), expected, atol=1e-12)
