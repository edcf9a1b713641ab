"""The misses store and deciding what a miss is: masked, with the answer given, its case's replies."""

from types import SimpleNamespace

from bot.insights._misses import MissStore
from bot.insights._record import answer_kind, guidance_turns, record_unhelpful


def store(tmp_path):
    return MissStore(f"sqlite:///{tmp_path / 'h.db'}")


def test_a_miss_is_kept_masked_with_its_answer_and_later_its_case(tmp_path):
    misses = store(tmp_path)
    first = misses.record(
        "c1",
        "declined",
        "I'm Sam, sam@example.org, 07700 900123, can my NHS team in M1 1AE go it alone?",
        channel="socketio",
        answer="I'm not sure",
        source="spinning-out#intro",
        score=0.8,
        threshold=1.0,
    )
    assert misses.record("c1", "declined", "/request_human") is None  # a button, not a question
    misses.record("c2", "declined", "someone else's question")
    assert misses.attach_case("c1", 7) == 1
    misses.add_reply(7, "Call us on 07700 900123 or see the spinning out page")
    misses.close_case(7, "answered")
    kept = misses.miss(first)
    assert (
        "sam@example.org" not in kept.question and "07700 900123" not in kept.question and "M1 1AE" not in kept.question
    )
    assert "[email]" in kept.question and "[postcode]" in kept.question
    assert (kept.channel, kept.answer, kept.source, kept.score, kept.case_id, kept.outcome) == (
        "socketio",
        "I'm not sure",
        "spinning-out#intro",
        0.8,
        7,
        "answered",
    )
    assert kept.adviser_reply == "Call us on [phone] or see the spinning out page"
    assert misses.miss(first + 1).case_id is None  # another conversation's miss is not on the case


def answer(answered, score, threshold=1.0, reason="answered"):
    return SimpleNamespace(answered=answered, score=score, threshold=threshold, reason=reason)


def test_which_answers_are_misses():
    assert answer_kind(answer(False, 0.5, reason="not_confident")) == "declined"
    assert answer_kind(answer(True, 1.01)) == "low_confidence"
    assert answer_kind(answer(True, 1.5)) is None
    assert answer_kind(answer(False, 1.2, reason="clarify")) is None  # "which do you mean?" is not a miss


def test_did_this_help_no_records_the_answer_it_was_about(tmp_path):
    events = [
        {"event": "user", "text": "how do I register a co-op"},
        {
            "event": "bot",
            "text": "You register with the FCA...",
            "metadata": {
                "guidance": {
                    "answered": True,
                    "score": 1.4,
                    "threshold": 1.0,
                    "reason": "answered",
                    "section": "co-operative-society#register",
                }
            },
        },
        {"event": "user", "text": "/feedback_unhelpful"},
    ]
    assert [t["question"] for t in guidance_turns(events)] == ["how do I register a co-op"]
    misses = store(tmp_path)
    record_unhelpful("c1", events, "rest", misses)
    [kept] = misses.misses()
    assert (kept.kind, kept.question, kept.source, kept.answer) == (
        "unhelpful",
        "how do I register a co-op",
        "co-operative-society#register",
        "You register with the FCA...",
    )
