"""Follow-ups, clarifying questions, focused answers and follow-up prompts, with the real model."""

import statistics

import pytest

from bot.guidance import GuidanceDesk
from bot.guidance._evaluation import load_questions
from bot.settings import Settings

pytestmark = pytest.mark.slow


def converse(desk, *messages):
    """Each reply in turn, each message answered in the context the one before it left."""
    context, replies = None, []
    for message in messages:
        answer = desk.answer(message, context)
        replies.append(answer)
        context = answer.context
    return replies


@pytest.mark.parametrize(
    "first, follow_up, slug, words",
    [
        ("What are community shares?", "cool, is there a limit?", "community-shares", "£100,000"),
        ("What is TUPE?", "does it cover pensions too?", "tupe-staff-transfer", "pension"),
    ],
)
def test_a_follow_up_is_answered_about_the_topic_in_play(desk, first, follow_up, slug, words):
    _, reply = converse(desk, first, follow_up)
    assert reply.answered and reply.sources[0].slug == slug, reply.text
    assert reply.reason == "answered_in_context" and words in reply.text


def test_a_follow_up_answered_in_context_is_not_answered_alone(desk):
    assert not desk.answer("cool, is there a limit?").answered


def test_a_clear_change_of_topic_starts_afresh(desk):
    _, reply = converse(desk, "How do I register a co-operative?", "what is the community right to challenge")
    assert reply.reason == "answered" and reply.sources[0].slug == "community-right-to-challenge"


def test_a_follow_up_stays_on_the_page_in_play_when_another_page_is_about_as_near(desk):
    # alone, redundancy pay is nearest the page on a mutual going bust; without the page bonus it
    # was answered from there in context too
    _, reply = converse(
        desk, "my service is being spun out into a mutual, can i say no and not go", "would i get redundancy pay then?"
    )
    if reply.reason == "clarify":  # two sections near enough to ask: the page in play is offered
        assert any('"guidance_slug":"tupe-staff-transfer' in b.payload for b in reply.buttons), reply.text
    else:
        assert reply.reason == "answered_in_context" and reply.sources[0].slug == "tupe-staff-transfer", reply.text


@pytest.mark.parametrize(
    "first, beside, signpost",
    [
        (
            "if our nhs team becomes a social enterprise do we keep the nhs pension",
            "where do i download my annual pension statement",
            "https://www.gov.uk/find-pension-contact-details",
        ),
        (  # a cue ("it"), but four words of its own: they are checked too
            "what does the community right to buy let us do",
            "can i use it to buy my own house",
            "https://england.shelter.org.uk",
        ),
        (
            "can the council hand over the library building to our group",
            "while i have you my bins were not collected this week",
            "https://www.gov.uk/find-local-council",
        ),
        (  # a cue ("and") and too few words of its own, but clearly nearer a topic outside (OWN_CLEAR_MARGIN)
            "can teachers keep their pension if the school service spins out",
            "and when can i get my state pension, i'm 61",
            "https://www.gov.uk/state-pension",
        ),
    ],
)
def test_a_question_about_ones_own_affairs_after_a_related_answer_is_signposted(desk, first, beside, signpost):
    # the joined query would look like a question about the topic in play; the message's own words
    # are nearer a topic outside the guidance
    answered, reply = converse(desk, first, beside)
    assert answered.answered
    assert not reply.answered and reply.reason == "outside_guidance", reply.text
    assert f"]({signpost})" in reply.text and "/guidance/" not in reply.text


def test_a_short_question_naming_its_own_topic_starts_afresh(desk):
    # seen in CI (scale-out, 2026-12-01): after a council pensions answer, "What is TUPE?" was
    # answered from the TUPE page's pension section
    _, reply = converse(desk, "How do we keep our council pensions if we spin out?", "What is TUPE?")
    assert reply.reason == "answered" and reply.sources[0].slug == "tupe-staff-transfer", reply.text
    assert reply.passage_id == "tupe-staff-transfer#what-is-tupe-and-does-it-apply-when-a-service-spins-out", (
        reply.passage_id
    )


@pytest.mark.parametrize(
    "announced",
    [
        "something else - whats a bencom",
        "different question: whats a bencom",
        "ok thanks. on another note, whats a bencom",
    ],
)
def test_a_new_topic_announced_carries_nothing_over(desk, announced):
    # "something else - whats a bencom" after a procurement answer was declined: searched with the
    # procurement question, and with its announcement as words of the question
    first, reply = converse(desk, "when did the procurement act 2023 start", announced)
    assert first.answered and reply.answered and reply.reason == "answered", reply.text
    assert reply.sources[0].slug == "community-benefit-society", reply.text


def test_another_question_about_the_same_thing_is_still_a_follow_up(desk):
    _, reply = converse(desk, "What are community shares?", "another question, is there a limit on them?")
    assert reply.answered and reply.sources[0].slug == "community-shares" and "£100,000" in reply.text, reply.text


def test_an_off_topic_message_is_not_answered_from_the_topic_in_play(desk):
    first, reply = converse(desk, "How do I register a co-operative?", "whats the weather like in leeds")
    assert first.answered and not reply.answered and "/guidance/" not in reply.text
    # the topic in play survives the miss, so a follow-up after it still has its context
    assert reply.context == first.context


def test_close_pages_get_a_clarifying_question_and_a_pick_answers_from_the_page_picked(guidance_index):
    # with a wide margin any two pages above the threshold count as equally good
    desk = GuidanceDesk(guidance_index, "http://guidance.test", clarify_margin=10.0)
    question = "can a co-op or a CIC issue shares to raise money"
    asked = desk.answer(question)
    assert asked.reason == "clarify" and not asked.answered and "/guidance/" not in asked.text
    assert asked.text.startswith("Two parts of the guidance could answer that. Which do you mean?")
    picks = [b for b in asked.buttons if b.payload.startswith("/ask_question")]
    slugs = [b.payload.split('"guidance_slug":"')[1].split("#")[0] for b in picks]
    assert len(picks) == 2 and len(set(slugs)) == 2
    assert all(f"- {b.title}" in asked.text for b in picks)  # named in the text too, for any channel
    assert asked.buttons[-1].payload == "/request_human"
    assert asked.context.clarifying and asked.context.question == question
    pick = picks[1].payload.split('"guidance_slug":"')[1].rstrip('"}')
    answer = desk.answer_topic(pick, focus_on=asked.context.question)
    assert answer.answered and answer.sources[0].slug == slugs[1] and answer.passage_id == pick


def test_an_answer_leads_with_the_sentences_that_answer_and_offers_the_rest(desk):
    answer = desk.answer("how much can one person put into community shares")
    assert "£100,000" in answer.text
    section = desk.index.passage(answer.passage_id).text
    body = answer.text.split("\n\nSource:")[0]
    assert len(body) < len(section)
    assert answer.buttons[0].title == "Tell me more"
    more = desk.tell_me_more(answer.context)
    assert section.replace("](/guidance/", "](http://guidance.test/guidance/") in more.text  # all of it
    assert "#" in answer.sources[0].url  # the source link opens the section on its page


def test_follow_up_prompts_are_other_sections_and_a_prompt_pressed_answers_from_its_section(desk):
    answer = desk.answer("What is TUPE?")
    prompts = [b for b in answer.buttons if b.payload.startswith("/ask_question")]
    assert 1 <= len(prompts) <= 3
    picked = [b.payload.split('"guidance_slug":"')[1].rstrip('"}') for b in prompts]
    assert answer.passage_id not in picked and len(set(picked)) == len(picked)
    for b, passage_id in zip(prompts, picked):
        assert b.title.endswith("?") and b.title[0].isupper()
        pressed = desk.answer_topic(passage_id)
        assert pressed.answered and pressed.passage_id == passage_id


def test_replies_are_short_enough_for_a_phone(desk):
    questions = [
        q.text for q in load_questions(Settings.from_env().knowledge_dir / "questions") if q.slug and q.split == "dev"
    ]
    lengths = [len(a.text) for a in map(desk.answer, questions) if a.answered]
    assert len(lengths) > 100
    assert statistics.median(lengths) < 500 and max(lengths) <= 900
