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
THRESHOLDS = {"dense": 0.415, "bm25": 0.366, "rrf": 0.386, "hybrid": 0.654}
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
    reason: str = "answered"  # answered | not_confident | no_words | not_english | empty | too_long

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
