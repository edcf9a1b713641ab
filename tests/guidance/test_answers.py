"""Answers from the guidance with the real model (loaded once per session)."""

import json

import pytest

from bot.guidance import BM25, GuidanceDesk, assess_message, tokens

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "question, slug",
    [
        ("How do I register a co-operative?", "co-operative-society"),
        ("what happens to my pension if our team leaves the council", "lgps-admitted-body-status"),
        ("can they sack me because of the transfer", "tupe-staff-transfer"),
        ("how much can one person put into community shares", "community-shares"),
        ("what is the community right to challenge", "community-right-to-challenge"),
    ],
)
def test_a_question_is_answered_from_the_page_that_answers_it(desk, question, slug):
    answer = desk.answer(question)
    assert answer.answered, answer.text
    assert answer.sources[0].slug == slug
    assert f"http://guidance.test/guidance/{slug}" in answer.text
    assert answer.text.rstrip().splitlines()[-1].startswith("Source: [")


def test_an_answer_is_short_enough_to_read_in_a_chat(desk):
    answer = desk.answer("what is a community interest company")
    body = answer.text.rsplit("\n\nSource:", 1)[0]
    assert len(body) < 500


def test_an_off_topic_question_is_not_answered_and_carries_no_guidance_link(desk):
    answer = desk.answer("what's the weather like in Leeds tomorrow")
    assert not answer.answered and answer.reason == "outside_guidance"
    assert "/guidance/" not in answer.text and "outside what this guidance covers" in answer.text


@pytest.mark.parametrize(
    "question, signpost",
    [
        ("how much state pension will I get and at what age", "https://www.gov.uk/state-pension"),
        ("my line manager keeps shouting at me in meetings, what can I do", "https://www.acas.org.uk"),
        ("where can I find my NHS pension annual statement", "https://www.gov.uk/find-pension-contact-details"),
        ("what time does the council office open", "https://www.gov.uk/find-local-council"),
    ],
)
def test_a_question_beside_the_guidance_is_signposted_not_answered_from_a_page_sharing_its_words(
    desk, question, signpost
):
    answer = desk.answer(question)
    assert not answer.answered and answer.reason == "outside_guidance", (answer.reason, answer.text)
    assert f"]({signpost})" in answer.text and "/guidance/" not in answer.text
    assert [b.payload for b in answer.buttons] == ["/request_human"]  # in case it was about a mutual after all


def test_the_softer_outside_rule_when_switched_on_asks_a_question_almost_as_near_for_a_surer_answer(
    guidance_index,
):
    # The softer rule is off for both models since the outside topics were widened (the tune
    # split's grid found no setting within the 3 % rule); `mutuals eval retrieval --outside`
    # re-chooses it. Switched on, with the hard rule loosened so it does not answer first: a
    # middling score from the guidance while a topic outside is nearly as near gets "not sure",
    # where to go if that was it, the close topics and an adviser.
    desk = GuidanceDesk(guidance_index, "http://guidance.test", outside_margin=-0.3, nearness=(1.0, 1.248))
    answer = desk.answer("what time does the council office open")
    assert not answer.answered and answer.reason == "outside_guidance", (answer.reason, answer.text)
    assert answer.text.startswith("I'm not sure this guidance answers that")
    assert "may be the place to ask" in answer.text and "/guidance/" not in answer.text
    assert answer.buttons[-1].payload == "/request_human" and len(answer.buttons) >= 2


def test_the_evaluation_declines_exactly_what_the_assistant_declines(desk, guidance_index):
    from bot.guidance._evaluation import Question, rank_all

    texts = [
        "what time does the council office open",
        "how many nurses does the nhs employ",
        "How do I register a co-operative?",
        "is john lewis a mutual",
        "how do i set up a CIC",
        "what is the best stocks and shares isa",
        "can the council just hand our service to a big firm",
        "how are social enterprises taxed in germany",
    ]
    ranked = rank_all(guidance_index, [Question(t, None, None, "test", "test") for t in texts], "hybrid")
    for text, r in zip(texts, ranked):
        # beside the guidance, or a request it cannot meet (the request classifier, _requests.py)
        declined_beside = desk.answer(text).reason in ("outside_guidance", "personal_request")
        assert (r.confidence == -1.0) == declined_beside, (text, r.confidence)


@pytest.mark.parametrize(
    "question",
    [
        "how do i set up a social enterprise in the republic of ireland",
        "how are social enterprises taxed in germany",
        "is irish law the same for co-operatives",
        "employee ownership trusts in the usa",
        "co-op law in france",
        "what's the law on community benefit societies in jersey",  # a Crown dependency, not the UK
        "is there an australian equivalent of the cic",
    ],
)
def test_a_question_about_another_country_is_signposted_whatever_words_it_shares(desk, question):
    answer = desk.answer(question)
    assert not answer.answered and answer.reason == "outside_guidance", (answer.reason, answer.text)
    assert "the official guidance of that country" in answer.text and "/guidance/" not in answer.text
    assert [b.payload for b in answer.buttons] == ["/request_human"]


@pytest.mark.parametrize(
    "question, slug",
    [
        ("setting up a co-operative in belfast, is the law different in northern ireland", "co-operative-society"),
        ("does TUPE apply in Northern Ireland", "tupe-staff-transfer"),
        ("do the old EU procurement rules still apply to councils", None),
        ("what are the rules for us as a CIC", None),
    ],
)
def test_the_uk_nations_and_the_eu_are_not_another_country(desk, question, slug):
    answer = desk.answer(question)
    assert answer.reason != "outside_guidance", answer.text
    if slug:
        assert answer.answered and slug in {s.slug for s in answer.sources}, answer.text


@pytest.mark.parametrize(
    "question, slug",
    [
        ("Can NHS staff keep the NHS Pension Scheme if their service becomes a mutual?", "nhs-pensions-and-fair-deal"),
        ("will our council staff keep the LGPS when they transfer to the mutual", "lgps-admitted-body-status"),
        ("is john lewis a mutual", None),
    ],
)
def test_questions_near_an_outside_topic_that_the_guidance_answers_are_still_answered(desk, question, slug):
    answer = desk.answer(question)
    assert answer.reason != "outside_guidance", answer.text
    if slug:
        assert answer.answered and answer.sources[0].slug == slug, answer.text


def test_not_sure_offers_close_topics_as_buttons(desk, guidance_index):
    # whether a real threshold declines "pensions" moves with every retuning; this desk's threshold is
    # just above the question's best score, so it must decline, and the pages within reach are offered
    best = desk.answer("pensions").score
    unsure = GuidanceDesk(guidance_index, "http://guidance.test", threshold=best * 1.05, mode=desk.mode)
    answer = unsure.answer("pensions")
    assert not answer.answered and answer.reason == "not_confident" and answer.sources == ()
    assert "These topics may be close. Or I can pass your question to an adviser." in answer.text
    topics, adviser = answer.buttons[:-1], answer.buttons[-1]
    assert 1 <= len(topics) <= 3 and all(b.payload.startswith('/ask_question{"guidance_slug":') for b in topics)
    # the nearest page is one on pensions (the LGPS page's title names the scheme, not the word)
    assert any(w in topics[0].title.lower() for w in ("pension", "lgps"))
    assert adviser.payload == "/request_human"


def test_picking_a_suggested_topic_answers_from_that_page(desk):
    answer = desk.answer_topic("community-benefit-society")
    assert answer.answered and answer.sources[0].slug == "community-benefit-society"
    assert not desk.answer_topic("no-such-page").answered


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        ("🙂🙂🎉", "no_words"),
        ("???!!!", "no_words"),
        ("x" * 2001, "too_long"),
        ("Как зарегистрировать кооператив?", "not_english"),
        ("协作社怎么注册", "not_english"),
    ],
)
def test_messages_that_are_not_questions_get_a_clear_reply(desk, text, reason):
    answer = desk.answer(text)
    assert not answer.answered and answer.reason == reason
    assert answer.text and "/guidance/" not in answer.text


def test_html_in_a_question_is_just_words(desk):
    answer = desk.answer("<script>alert(1)</script> how do I register a co-operative?")
    assert "<script>" not in answer.text


def test_answer_json_shape(desk):
    data = json.loads(json.dumps(desk.answer("what is an asset lock").as_json()))
    assert set(data) >= {"answered", "answer", "sources", "score", "threshold", "section"}
    assert "confidence" not in data  # a retrieval score is not a probability: it is called what it is
    assert data["score"] >= data["threshold"] > 0
    assert data["sources"][0].keys() >= {"slug", "title", "url", "score"}


def test_bm25_prefers_the_document_sharing_rare_words():
    index = BM25(["pensions for council staff", "registering a co-operative society", "tupe transfers"])
    scores = index.scores("register co-operatives")
    assert scores.argmax() == 1
    assert tokens("Co-operatives' PENSIONS") == ["co", "operative", "pension"]


def test_assess_message_accepts_accented_english_and_welsh_letters():
    assert assess_message("Café co-op in Ynys Môn — how do we start?", 2000) is None
