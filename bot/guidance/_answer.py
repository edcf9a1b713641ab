"""Turning a question into what the assistant says: a passage with its source, or an honest 'not sure'."""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import List, Optional, Tuple

from ._index import GuidanceIndex
from ._pages import Passage
from ._search import Hit, top_pages

# Per retrieval mode, the confidence below which the assistant says it is not sure. Chosen by
# `mutuals eval retrieval` on the dev questions (see docs/retrieval.md); each mode has its own scale.
THRESHOLDS = {"dense": 0.417, "bm25": 0.366, "rrf": 0.393, "hybrid": 0.942}
DEFAULT_THRESHOLD = THRESHOLDS["hybrid"]
SUGGESTION_SHARE = 0.7  # a topic offered as a button must reach this share of the threshold
ADVISER_BUTTON_TITLE = "Talk to an adviser"
ADVISER_PAYLOAD = "/request_human"


@dataclasses.dataclass(frozen=True)
class SourceRef:
    slug: str
    title: str
    url: str
    score: float


@dataclasses.dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the assistant says in reply to one question, on any channel."""

    answered: bool
    text: str
    sources: Tuple[SourceRef, ...] = ()
    confidence: float = 0.0
    buttons: Tuple[Button, ...] = ()
    # answered | not_confident | personal_request | no_words | not_english | empty | too_long
    reason: str = "answered"

    def as_json(self) -> dict:
        return {
            "answered": self.answered,
            "answer": self.text,
            "sources": [dataclasses.asdict(s) for s in self.sources],
            "confidence": round(self.confidence, 4),
            "buttons": [dataclasses.asdict(b) for b in self.buttons],
            "reason": self.reason,
        }


def topic_payload(slug: str) -> str:
    return '/ask_question{"guidance_slug":"%s"}' % slug


# ---- messages that are not questions we can search for --------------------------------

NO_WORDS = ("I couldn't find any words in that message. Could you type your question? "
            "For example: \"How do we register a co-operative?\"")
NOT_ENGLISH = ("Sorry, I can only answer in English at the moment. If you would like help in another "
               "language, I can pass your question to an adviser.")
EMPTY = "Your message was empty. Type a question about mutuals or co-operatives and I'll do my best."


def too_long(limit: int) -> str:
    return (f"That message is longer than I can read ({limit:,} characters at most). Could you ask "
            "your question in a few sentences? Nothing you sent has been lost from our conversation.")


def assess_message(text: Optional[str], max_chars: int) -> Optional[Tuple[str, str]]:
    """``(reason, reply)`` when a message cannot be searched, else ``None``."""
    if text is None or not text.strip():
        return "empty", EMPTY
    if len(text) > max_chars:
        return "too_long", too_long(max_chars)
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "no_words", NO_WORDS
    latin = sum(1 for c in letters if _is_latin(c))
    if latin / len(letters) < 0.5:
        return "not_english", NOT_ENGLISH
    return None


def _is_latin(char: str) -> bool:
    if char.isascii():
        return True
    try:
        return "LATIN" in unicodedata.name(char)
    except ValueError:
        return False


# ---- requests that guidance cannot meet, whatever their words --------------------------
#
# Some messages use the domain's words but ask for something no guidance page can give: a task done
# for the person ("can you fill in my form"), a prediction about their own case ("will I win",
# "how much will I get") or help with an account or password. Retrieval alone cannot tell them from
# real questions, so they are recognised by their shape and declined kindly, with an adviser offered.
# The patterns are deliberately narrow: "can you explain ... for me", "how much can I invest" and
# "should we take social investment" are questions for the guidance and still reach retrieval.

_YOU = r"(?:you|u|ya)"
_ME = r"(?:me|us|my|our)"
_MONEY = (r"(?:pension|pensions|redundancy|pay|salary|wages|lump\s+sum|payout|pay-?out|compensation|"
          r"settlement|tax\s+bill|tax\s+refund|bill|benefits?)")
# Doing something for the person: an action verb aimed at them or at their own things. Verbs that
# are also ways of asking about the rules ("can you change our rules", "can you pay staff") are left out.
_TASK_VERBS = (r"(?:write|rewrite|draft|fill(?:\s+(?:in|out))?|complete|submit|file|lodge|sign|calculate|"
               r"work\s+(?:it\s+|this\s+|that\s+)?out|book|do|prepare|check|proofread|sort\s+out|"
               r"apply\s+for|phone|ring|call|contact|represent|reset)")
_PERSONAL_PATTERNS = [
    # "can you write my grant application", "could u fill in our form", "can you book me a slot"
    rf"\b(?:can|could|would|will)\s+{_YOU}\s+(?:please\s+|just\s+|also\s+)?{_TASK_VERBS}\s+(?:\w+\s+){{0,2}}?{_ME}\b",
    # "can you do the paperwork for me", "please draft a letter for us"
    rf"\b(?:(?:can|could|would|will)\s+{_YOU}\s+|please\s+)(?:please\s+|just\s+)?{_TASK_VERBS}\s+(?:\w+\s+){{0,6}}?for\s+(?:me|us)\b",
    # "will you be a guarantor", "would you act as our referee", "can you be my witness", "can you lend us"
    rf"\b(?:will|would)\s+{_YOU}\s+(?:be|act\s+as|become|stand\s+as)\s+(?:a|an|my|our)\b",
    rf"\b(?:can|could)\s+{_YOU}\s+(?:be|act\s+as|become|stand\s+as)\s+(?:my|our)\b",
    rf"\b(?:can|could|will|would)\s+{_YOU}\s+(?:lend|loan)\s+(?:me|us)\b",
    # Predictions or advice about the person's own case: "should I sue", "will we win", "do I have a case".
    r"\bshould\s+(?:i|we)\s+(?:sue|take\s+(?:\w+\s+){1,3}?to\s+(?:court|(?:an?\s+)?(?:employment\s+)?tribunal)|"
    r"go\s+to\s+(?:court|(?:an?\s+)?(?:employment\s+)?tribunal)|resign|quit|hand\s+in\s+my\s+notice)\b",
    r"\bshould\s+i\s+(?:put|invest|move|transfer|cash\s+in)\s+my\s+(?:\w+\s+)?(?:savings|money|pension|lump\s+sum|isa)\b",
    r"\b(?:will|would)\s+(?:i|we)\s+win\b",
    r"\b(?:am\s+i|are\s+we)\s+(?:going|likely)\s+to\s+win\b",
    r"\b(?:what\s+are|what's|whats)\s+(?:my|our)\s+chances\b",
    r"\b(?:do|have)\s+(?:i|we)\s+(?:have\s+|got\s+)?a\s+(?:good\s+|strong\s+|legal\s+)?case\b(?!\s+stud)",
    r"\bhow\s+much\s+(?:money\s+)?(?:will|would|shall)\s+(?:i|we)\s+personally\b",
    rf"\bhow\s+much\s+(?:money\s+)?(?:will|would)\s+(?:i|we)\s+(?:get|receive|be\s+paid)\s+(?:in|from|for|as)\s+"
    rf"(?:my|our)\s+(?:\w+\s+)?{_MONEY}\b",
    rf"\bhow\s+much\s+(?:will|would|is|'s)\s+my\s+(?:\w+\s+)?{_MONEY}\b",
    r"\b(?:calculate|work\s+out)\s+(?:exactly\s+)?(?:how\s+much|what)\s+(?:i|my|we|our)\b",
    # Accounts and passwords.
    r"\b(?:password|passcode|pass\s+word|username|user\s+name|log-?in\s+details|login)\b",
    r"\b(?:locked\s+out\s+of|(?:can'?t|cannot|unable\s+to)\s+(?:log|sign)\s*(?:in|on))\b",
    r"\b(?:reset|recover|unlock)\s+(?:my|our)\s+(?:\w+\s+){0,3}?account\b",
]
_PERSONAL = re.compile("|".join(f"(?:{p})" for p in _PERSONAL_PATTERNS), re.IGNORECASE)

PERSONAL_REQUEST = (
    "That's not something I can do, I'm afraid. I can't do tasks for you (such as writing, filling in or "
    "submitting documents, or booking things), work out what will happen in your own case or how much you "
    "personally will get, or help with accounts and passwords. What I can do is explain how things work, "
    "for example how TUPE, pensions, grants or legal forms work for a mutual. For your own situation, "
    "I can pass your question to an adviser."
)


def is_personal_request(text: str) -> bool:
    """Whether a message asks for a personal task, a prediction about the person's own case, or
    account help: things no guidance page can answer, whatever words they use."""
    return bool(_PERSONAL.search(" ".join(text.replace("’", "'").split())))


# ---- answering ---------------------------------------------------------------------

_INTERNAL_LINK = re.compile(r"\]\(/guidance/")


class GuidanceDesk:
    """Answers questions from a :class:`GuidanceIndex`; one per process."""

    def __init__(self, index: GuidanceIndex, web_url: str, threshold: float = 0.0,
                 mode: str = "hybrid", max_chars: int = 2000):
        self.index = index
        self.web_url = web_url.rstrip("/")
        self.threshold = threshold or THRESHOLDS[mode]
        self.mode = mode
        self.max_chars = max_chars

    def url(self, slug: str, anchor: str = "") -> str:
        return f"{self.web_url}/guidance/{slug}" + (f"#{anchor}" if anchor else "")

    def answer(self, question: Optional[str]) -> Answer:
        problem = assess_message(question, self.max_chars)
        if problem:
            reason, reply = problem
            buttons = (Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD),) if reason == "not_english" else ()
            return Answer(False, reply, buttons=buttons, reason=reason)
        if is_personal_request(question):
            return Answer(False, PERSONAL_REQUEST, buttons=(Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD),),
                          reason="personal_request")
        hits = self.index.search(question, mode=self.mode, k=10)
        if hits and hits[0].score >= self.threshold:
            return self._from_passage(hits[0].passage, hits[0].score)
        return self._not_sure(hits)

    def answer_topic(self, slug: str) -> Answer:
        """The opening passage of a page (when a person picks a suggested topic)."""
        passage = self.index.first_passage(slug)
        if passage is None:
            return self._not_sure([])
        return self._from_passage(passage, 1.0)

    def _from_passage(self, passage: Passage, score: float) -> Answer:
        title = passage.page_title
        url = self.url(passage.slug, passage.anchor)
        body = _INTERNAL_LINK.sub(f"]({self.web_url}/guidance/", passage.text)
        heading = "" if passage.heading == title else f"**{passage.heading}**\n\n"
        text = f"{heading}{body}\n\nSource: [{title}]({url})"
        source = SourceRef(passage.slug, title, url, round(score, 4))
        return Answer(True, text, (source,), score, reason="answered")

    def _not_sure(self, hits: List[Hit]) -> Answer:
        close = [h for h in top_pages(hits, 3) if h.score >= SUGGESTION_SHARE * self.threshold]
        buttons = [Button(h.passage.page_title, topic_payload(h.passage.slug)) for h in close]
        buttons.append(Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD))
        text = "I'm not sure I have guidance that answers that, and I'd rather not guess."
        if close:
            text += " These topics may be close. Or I can pass your question to an adviser."
        else:
            text += " I can pass your question to an adviser, or you could ask it another way."
        confidence = hits[0].score if hits else 0.0
        return Answer(False, text, (), confidence, tuple(buttons), reason="not_confident")
