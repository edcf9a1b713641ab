"""Turning a question into what the assistant says: a passage with its source, or an honest 'not sure'."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ._context import Context, ContextRules, Search, choose_search
from ._focus import focus, join_units
from ._index import GuidanceIndex
from ._outside import (
    OUTSIDE_MARGIN,
    OutsideTopic,
    elsewhere_topic,
    maybe_outside_text,
    nearness_rule,
    other_countries_topic,
    outside_wins,
    signpost_text,
    too_near_outside,
)
from ._pages import Passage
from ._requests import REQUEST_THRESHOLD, declined_shape
from ._search import Hit, top_pages

# Per embedding model and retrieval mode, the score below which the assistant says it is not sure.
# Chosen by `mutuals eval retrieval --split tune` (see docs/retrieval.md); each has its own scale.
# The rule: the highest that wrongly declines at most 3 % of the tune split's answerable questions.
THRESHOLDS_FOR = {
    "tuned": {"dense": 0.327, "bm25": 0.328, "rrf": 0.25, "hybrid": 1.025},
    "base": {"dense": 0.285, "bm25": 0.328, "rrf": 0.268, "hybrid": 1.023},
}
THRESHOLDS = THRESHOLDS_FOR["tuned"]  # the default model's
DEFAULT_THRESHOLD = THRESHOLDS["hybrid"]


def thresholds_for(embedder) -> dict:
    """The thresholds of the model ``embedder`` runs (the base model's for one without a ``kind``)."""
    while embedder is not None and not hasattr(embedder, "kind") and hasattr(embedder, "inner"):
        embedder = embedder.inner
    return THRESHOLDS_FOR.get(getattr(embedder, "kind", "base"), THRESHOLDS_FOR["base"])


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
    # the retrieval score of the best passage (the mode's scale, not a probability: compare it with
    # ``threshold``, below which the assistant declines)
    score: float = 0.0
    buttons: Tuple[Button, ...] = ()
    # answered | answered_in_context | more | clarify | not_confident | outside_guidance | personal_request | no_words |
    # not_english | empty | too_long | nothing_to_expand
    reason: str = "answered"
    threshold: float = 0.0
    # what the conversation keeps for the next message: the question in play and the section it was
    # answered from (for a clarification, the question asked and the first of the sections offered)
    context: Optional["Context"] = None
    passage_id: Optional[str] = None  # slug#anchor of the section answered from

    def as_json(self) -> dict:
        return {
            "answered": self.answered,
            "answer": self.text,
            "sources": [dataclasses.asdict(s) for s in self.sources],
            "score": round(self.score, 4),
            "threshold": round(self.threshold, 4),
            "buttons": [dataclasses.asdict(b) for b in self.buttons],
            "reason": self.reason,
            "section": self.passage_id,
        }


def topic_payload(slug: str) -> str:
    return '/ask_question{"guidance_slug":"%s"}' % slug


# ---- messages that are not questions we can search for --------------------------------

NO_WORDS = (
    "I couldn't find any words in that message. Could you type your question? "
    "For example: \"How do we register a co-operative?\""
)
NOT_ENGLISH = (
    "Sorry, I can only answer in English at the moment. If you would like help in another "
    "language, I can pass your question to an adviser."
)
EMPTY = "Your message was empty. Type a question about mutuals or co-operatives and I'll do my best."


def too_long(limit: int) -> str:
    return (
        f"That message is longer than I can read ({limit:,} characters at most). Could you ask "
        "your question in a few sentences? Nothing you sent has been lost from our conversation."
    )


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
_MONEY = (
    r"(?:pension|pensions|redundancy|pay|salary|wages|lump\s+sum|payout|pay-?out|compensation|"
    r"settlement|tax\s+bill|tax\s+refund|bill|benefits?|discount)"
)
# Doing something for the person: an action verb aimed at them or at their own things. Verbs that
# are also ways of asking about the rules ("can you change our rules", "can you pay staff") are left out.
_TASK_VERBS = (
    r"(?:write|rewrite|draft|fill(?:\s+(?:in|out))?|complete|submit|file|lodge|sign|calculate|"
    r"work\s+(?:it\s+|this\s+|that\s+)?out|book|do|prepare|check|proofread|sort\s+out|"
    r"apply\s+for|phone|ring|call|contact|represent|reset|appeal)"
)
# The kinds of firm or person people ask to be pointed to: the guidance names no particular one.
_PROFESSIONALS = (
    r"(?:accountants?|solicitors?|lawyers?|law\s+firms?|auditors?|bookkeepers?|consultants?|"
    r"financial\s+advisers?|financial\s+advisors?|brokers?|insurers?|banks?|surveyors?|estate\s+agents?)"
)
_PERSONAL_PATTERNS = [
    # "can you write my grant application", "could u fill in our form", "can you book me a slot"
    rf"\b(?:can|could|would|will)\s+{_YOU}\s+(?:please\s+|just\s+|also\s+)?{_TASK_VERBS}\s+(?:\w+\s+){{0,2}}?{_ME}\b",
    # "can you do the paperwork for me", "please draft a letter for us"
    rf"\b(?:(?:can|could|would|will)\s+{_YOU}\s+|please\s+)(?:please\s+|just\s+)?{_TASK_VERBS}\s+(?:\w+\s+){{0,6}}?for\s+(?:me|us)\b",
    # told, not asked: "draft me an employment contract", "write us a letter to the council", "please
    # work out how much corporation tax our CIC owes" (at the start, so "how do I write a business
    # case" and "who can draft our rules" still reach the guidance)
    r"^(?:please\s+)?(?:write|rewrite|draft|prepare|fill\s+(?:in|out)|proofread)\s+(?:me|us)\b",
    r"^(?:please\s+)?(?:write(?!\s+down)|rewrite|draft|prepare|fill\s+(?:in|out)|complete|proofread|sort\s+out)\s+(?:\w+\s+){0,8}?for\s+(?:me|us)\b",
    rf"^(?:please\s+)?(?:(?:can|could|would)\s+{_YOU}\s+)?(?:calculate|work\s+out)\s+(?:exactly\s+)?(?:how\s+much|what)\s+"
    rf"(?:\w+\s+){{0,4}}?(?:i|my|we|our|us)\b",
    # a particular firm or person: "can you recommend a good accountant", "who's the cheapest
    # solicitor in Leeds", "any good bookkeepers near me"
    rf"\b(?:recommend|suggest)\s+(?:me\s+|us\s+)?(?:a|an|some|any|the\s+best)\s+(?:\w+\s+){{0,2}}?{_PROFESSIONALS}\b",
    rf"\b(?:who|which)\s*(?:is|are|'s|s)\s+(?:the\s+)?(?:best|cheapest|most\s+\w+|a\s+good)\s+(?:\w+\s+){{0,2}}?{_PROFESSIONALS}\b",
    rf"\b{_PROFESSIONALS}\s+(?:in\s+my\s+area|round\s+here|around\s+here)\b",  # "near me": the pattern below
    rf"\b(?:which|what)\s+{_PROFESSIONALS}\s+(?:\w+\s+){{0,6}}?(?:best|cheapest|cheaply|recommended)\b",
    # a particular organisation's people, money or plans: the guidance names organisations as
    # examples but holds none of that ("who is the chief executive of GLL", "what was X's turnover")
    r"\bwho\s*(?:is|are|'s|s)\s+(?:the\s+)?(?:current\s+)?(?:chief\s+exec(?:utive)?|ceo|chair(?:man|woman|person)?|boss|"
    r"head|managing\s+director|founder)s?\s+(?:of|at)\s+(?!(?:a|an|the|our|my|your|this|that|each|every)\b)",
    r"\bwho\s+(?:sits?|is|are)\s+on\s+(?:the\s+)?board\s+(?:of|at)\s+(?!(?:a|an|the|our|my|your|this|that|each|every)\b)",
    r"\bwhat\s+(?:was|is|were)\s+(?:[\w'’]+\s+){1,4}?(?:turnover|revenue|annual\s+income|profits?)\s+(?:last|this|in)\b",
    r"\bhow\s+much\s+does\s+(?!(?:a|an|the|our|my|your|each|every|it|this|that)\b)(?:\w+\s+){1,4}?pay\s+(?:its|their)\b",
    r"\bnear\s+me\b",
    # "can you look at our business plan and tell me if it's sound", "go through our accounts and let us know"
    rf"\b(?:can|could|would|will)\s+{_YOU}\s+(?:please\s+|just\s+)?(?:look\s+(?:at|over|through)|go\s+(?:through|over)|review|"
    r"read\s+(?:through|over)|check)\s+(?:[\w-]+\s+){0,3}?(?:our|my|his|her|their|[\w-]+'s)\s[^?.!]*?\band\s+(?:tell|let)\s+(?:me|us)\b",
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
    # (not the State Pension: its own signpost, knowledge/outside/, says more than this reply)
    rf"\bhow\s+much\s+(?!state\s+pension)(?:\w+\s+){{0,2}}?{_MONEY}\s+(?:will|would|do|can|should)\s+i\s+(?:get|receive|be\s+owed)\b",
    # an opinion or a forecast: "do you think the government will scrap EOTs", "what do you think of ..."
    r"^(?:(?:so|and|but|ok(?:ay)?|hmm|honestly)[\s,]+)?(?:do|d'you|what\s+do)\s+(?:you|u)\s+(?:honestly\s+|really\s+|personally\s+)?think\b",
    # Accounts and passwords.
    r"\b(?:password|passcode|pass\s+word|username|user\s+name|log-?in\s+details|login)\b",
    r"\b(?:locked\s+out\s+of|(?:can'?t|cannot|unable\s+to)\s+(?:log|sign)\s*(?:in|on))\b",
    r"\b(?:reset|recover|unlock)\s+(?:my|our)\s+(?:\w+\s+){0,3}?account\b",
]
_PERSONAL = re.compile("|".join(f"(?:{p})" for p in _PERSONAL_PATTERNS), re.IGNORECASE)

PERSONAL_REQUEST = (
    "That's not something I can do, I'm afraid. I can't do tasks for you (such as writing, checking or "
    "filling in documents, or booking things), recommend a particular firm or person, give details of a "
    "particular organisation's people, money or plans, give opinions or forecasts, work out what will "
    "happen in your own case or how much you personally will get, or help with accounts and passwords. "
    "What I can do is explain how things work, for example how TUPE, pensions, grants or legal forms work "
    "for a mutual. For your own situation, I can pass your question to an adviser."
)


def is_personal_request(text: str) -> bool:
    """Whether a message asks for a personal task, a prediction about the person's own case, or
    account help: things no guidance page can answer, whatever words they use."""
    return bool(_PERSONAL.search(" ".join(text.replace("’", "'").split())))


# ---- answering ---------------------------------------------------------------------

_INTERNAL_LINK = re.compile(r"\]\(/guidance/")

# A clarifying question instead of a guess: when the best two pages both pass the threshold and
# the second is within this margin of the first. Chosen on the tuning questions (docs/answers.md).
CLARIFY_MARGIN = 0.01
TELL_ME_MORE = "Tell me more"
TELL_ME_MORE_PAYLOAD = "/tell_me_more"
MAX_PROMPTS = 3  # follow-up questions offered after an answer
NOTHING_MORE = "That's all this section says. The source link opens the whole page, or ask me something else."


class GuidanceDesk:
    """Answers questions from a :class:`GuidanceIndex`; one per process."""

    def __init__(
        self,
        index: GuidanceIndex,
        web_url: str,
        threshold: float = 0.0,
        mode: str = "hybrid",
        max_chars: int = 2000,
        clarify_margin: float = CLARIFY_MARGIN,
        context_rules: Optional[ContextRules] = None,
        outside_margin: float = OUTSIDE_MARGIN,
        nearness: Optional[Tuple[float, float]] = None,
        request_threshold: Optional[float] = REQUEST_THRESHOLD,
    ):
        self.index = index
        self.web_url = web_url.rstrip("/")
        self.threshold = threshold or thresholds_for(index.embedder)[mode]
        self.mode = mode
        self.max_chars = max_chars
        self.clarify_margin = clarify_margin
        self.context_rules = context_rules or ContextRules()
        self.outside_margin = outside_margin
        self.request_threshold = request_threshold  # None: the request classifier is off (_requests.py)
        # the softer outside rule's (weight, threshold): given, or the index's model's (_outside.py)
        self._nearness: Optional[Tuple[float, float]] = nearness
        self._nearness_known = nearness is not None

    @property
    def nearness(self) -> Optional[Tuple[float, float]]:
        """The softer outside rule's numbers for the index's model (hybrid only; ``_outside.py``)."""
        if not self._nearness_known:
            self._nearness = nearness_rule(self.index.embedder) if self.mode == "hybrid" else None
            self._nearness_known = True
        return self._nearness

    @classmethod
    def for_settings(cls, index: GuidanceIndex, settings, mode: Optional[str] = None) -> "GuidanceDesk":
        """The desk the settings describe (threshold, retrieval mode unless ``mode`` is given, the
        longest message, the web address links point to): one way for the action server, the CLI
        and the bench to make it."""
        return cls(
            index,
            settings.web_url,
            threshold=settings.answer_threshold,
            mode=mode or settings.retrieval_mode,
            max_chars=settings.max_message_chars,
        )

    def url(self, slug: str, anchor: str = "") -> str:
        return f"{self.web_url}/guidance/{slug}" + (f"#{anchor}" if anchor else "")

    def answer(self, question: Optional[str], context: Optional[Context] = None) -> Answer:
        """The reply to ``question``; ``context``, the question answered before it in this conversation."""
        problem = assess_message(question, self.max_chars)
        if problem:
            reason, reply = problem
            buttons = (Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD),) if reason == "not_english" else ()
            return Answer(False, reply, buttons=buttons, reason=reason, threshold=self.threshold, context=context)
        question = str(question)  # assess_message turned away None and empty messages
        if is_personal_request(question):
            return Answer(
                False,
                PERSONAL_REQUEST,
                buttons=(Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD),),
                reason="personal_request",
                threshold=self.threshold,
                context=context,
            )
        elsewhere = elsewhere_topic(question, self.index.outside)
        if elsewhere is not None:  # another country's law: the guidance covers the UK only (_outside.py)
            return Answer(
                False,
                signpost_text(elsewhere),
                buttons=(Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD),),
                reason="outside_guidance",
                threshold=self.threshold,
                context=context,
            )
        search = choose_search(self.index, question, context, self.threshold, self.mode, rules=self.context_rules)
        hits = search.hits
        # a topic the guidance does not cover gets its own signpost; then the request classifier
        outside = self._outside(search, context) or self._declined_request(question, search, context)
        if outside is not None:
            return outside
        if hits and hits[0].score >= self.threshold:
            rivals = [h for h in top_pages(hits, 2) if h.score >= self.threshold]
            if len(rivals) == 2 and rivals[0].score - rivals[1].score <= self.clarify_margin:
                return self._clarify(rivals, search)
            return self._from_passage(
                hits[0].passage, hits[0].score, search.vector, search.query, in_context=search.in_context
            )
        return self._not_sure(hits, context)

    def answer_topic(self, passage_id: str, focus_on: Optional[str] = None) -> Answer:
        """A page's opening section (``slug``) or one section (``slug#anchor``), when a person picks
        it from buttons; ``focus_on``: the question it answers (a clarification picked), else it
        leads with the section's first sentences."""
        passage = self.index.passage(passage_id)
        if passage is None:
            return self._not_sure([], None)
        vector = self.index.embedder.encode_one(focus_on) if focus_on and self.mode != "bm25" else None
        return self._from_passage(passage, 1.0, vector, focus_on or passage.heading)

    def tell_me_more(self, context: Optional[Context]) -> Answer:
        """The whole section that was last answered from."""
        passage = self.index.passage(context.passage_id) if context and context.passage_id else None
        if passage is None:
            return Answer(
                False,
                "I haven't answered anything yet that I could say more about. What would you like to know?",
                reason="nothing_to_expand",
                threshold=self.threshold,
                context=context,
            )
        title = passage.page_title
        url = self.url(passage.slug, passage.anchor)
        heading = "" if passage.heading == title else f"**{passage.heading}**\n\n"
        text = f"{heading}{self._links(passage.text)}\n\nSource: [{title}]({url})"
        source = SourceRef(passage.slug, title, url, 1.0)
        return Answer(
            True,
            text,
            (source,),
            1.0,
            self._prompts(passage),
            reason="more",
            threshold=self.threshold,
            context=context,
            passage_id=passage.id,
        )

    # ---- the parts of a reply ------------------------------------------------------

    def _links(self, text: str) -> str:
        return _INTERNAL_LINK.sub(f"]({self.web_url}/guidance/", text)

    def _from_passage(
        self, passage: Passage, score: float, vector: Optional[np.ndarray], question: str, in_context: bool = False
    ) -> Answer:
        title = passage.page_title
        url = self.url(passage.slug, passage.anchor)
        units = self.index.units[self.index.position[passage.id]]
        shown = focus(units, self.index.unit_scores(passage, vector))
        body = self._links(join_units(shown))
        text = f"{body}\n\nSource: [{title}]({url})"
        buttons = []
        if len(shown) < len(units):
            buttons.append(Button(TELL_ME_MORE, TELL_ME_MORE_PAYLOAD))
        buttons.extend(self._prompts(passage))
        source = SourceRef(passage.slug, title, url, round(score, 4))
        reason = "answered_in_context" if in_context else "answered"
        return Answer(
            True,
            text,
            (source,),
            score,
            tuple(buttons),
            reason=reason,
            threshold=self.threshold,
            context=Context(question, passage.id),
            passage_id=passage.id,
        )

    def _prompts(self, passage: Passage) -> Tuple[Button, ...]:
        """Up to three related questions: the nearest other sections, this page's first."""
        here = self.index.position[passage.id]
        similarity = self.index.embeddings @ self.index.embeddings[here]
        similarity = similarity + 0.15 * (self.index.page_of_passage == self.index.page_of_passage[here])
        similarity[here] = -np.inf
        out: List[Button] = []
        for i in np.argsort(-similarity):
            if len(out) == MAX_PROMPTS or not np.isfinite(similarity[i]):
                break
            other = self.index.passages[int(i)]
            asked = self.index.phrasings.get(other.id)
            if not asked:
                continue
            out.append(Button(prompt_title(asked[0]), topic_payload(other.id)))
        return tuple(out)

    def _clarify(self, rivals: Sequence[Hit], search: Search) -> Answer:
        titles = [section_title(h.passage) for h in rivals]
        options = "\n".join(
            f"- {t} ({h.passage.page_title})" if h.passage.anchor else f"- {t}" for t, h in zip(titles, rivals)
        )
        text = f"Two parts of the guidance could answer that. Which do you mean?\n\n{options}"
        buttons = tuple(Button(t, topic_payload(h.passage.id)) for t, h in zip(titles, rivals))
        return Answer(
            False,
            text,
            (),
            rivals[0].score,
            buttons + (Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD),),
            reason="clarify",
            threshold=self.threshold,
            context=Context(search.query, rivals[0].passage.id, clarifying=True),
        )

    def _outside(self, search: Search, context: Optional[Context]) -> Optional[Answer]:
        """The signpost for a question nearer a topic the guidance does not cover (``_outside.py``)."""
        if search.vector is None:
            return None
        topic, outside, inside = self._nearest_outside(search.vector)
        if topic is None:
            return None
        score = search.hits[0].score if search.hits else 0.0
        nearer_outside = outside_wins(outside, inside, self.outside_margin)
        if not nearer_outside and search.own_vector is not None:
            # in context: the message's own words may be about a topic outside ("where do I get my
            # pension statement?" after a question about NHS pensions), which the joined query hides
            own_topic, own_outside, own_inside = self._nearest_outside(search.own_vector)
            margin = self.outside_margin if search.own_words else -self.context_rules.own_clear_margin
            if own_topic is not None and outside_wins(own_outside, own_inside, margin):
                topic, outside, nearer_outside = own_topic, own_outside, True
        too_near = (
            not search.in_context
            and score >= self.threshold
            and too_near_outside(score, outside, inside, self.nearness)
        )
        if not (nearer_outside or too_near):
            return None
        if not nearer_outside:  # only almost as near: the close topics too, in case it was about them
            close = [h for h in top_pages(search.hits, 3) if h.score >= SUGGESTION_SHARE * self.threshold]
            buttons = [Button(h.passage.page_title, topic_payload(h.passage.slug)) for h in close]
            buttons.append(Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD))
            return Answer(
                False,
                maybe_outside_text(topic),
                (),
                score,
                tuple(buttons),
                reason="outside_guidance",
                threshold=self.threshold,
                context=context,
            )
        return Answer(
            False,
            signpost_text(topic),
            (),
            score,
            (Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD),),
            reason="outside_guidance",
            threshold=self.threshold,
            context=context,
        )

    def _declined_request(self, question: str, search: Search, context: Optional[Context]) -> Optional[Answer]:
        """The reply to a request the guidance cannot meet, as the request classifier judges the
        message's own words (``_requests.py``), or None. In context, a short message with a
        follow-up cue ("any catch?") says too little alone to be judged (as in ``_outside``)."""
        own = (search.own_vector if search.own_words else None) if search.in_context else search.vector
        shape = declined_shape(self.index.request_classifier, question, own, self.request_threshold)
        if shape is None:
            return None
        score = search.hits[0].score if search.hits else 0.0
        buttons = (Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD),)
        topic: Optional[OutsideTopic] = None
        if shape == "other_country":
            topic = other_countries_topic(self.index.outside)
        elif shape == "personal_affairs" and own is not None:
            topic = self.index.nearest_outside(own)[0]
        text, reason = (signpost_text(topic), "outside_guidance") if topic else (PERSONAL_REQUEST, "personal_request")
        return Answer(False, text, (), score, buttons, reason=reason, threshold=self.threshold, context=context)

    def _nearest_outside(self, vector: np.ndarray) -> Tuple[Optional[OutsideTopic], float, float]:
        """The nearest topic outside the guidance, its cosine, and the cosine of the nearest passage
        or phrasing inside (0 when there are no outside topics)."""
        topic, outside = self.index.nearest_outside(vector)
        return topic, outside, (self.index.nearest_inside(vector) if topic is not None else 0.0)

    def _not_sure(self, hits: List[Hit], context: Optional[Context]) -> Answer:
        close = [h for h in top_pages(hits, 3) if h.score >= SUGGESTION_SHARE * self.threshold]
        buttons = [Button(h.passage.page_title, topic_payload(h.passage.slug)) for h in close]
        buttons.append(Button(ADVISER_BUTTON_TITLE, ADVISER_PAYLOAD))
        text = "I'm not sure I have guidance that answers that, and I'd rather not guess."
        if close:
            text += " These topics may be close. Or I can pass your question to an adviser."
        else:
            text += " I can pass your question to an adviser, or you could ask it another way."
        score = hits[0].score if hits else 0.0
        return Answer(
            False, text, (), score, tuple(buttons), reason="not_confident", threshold=self.threshold, context=context
        )


def section_title(passage: Passage) -> str:
    """How a section is named on a button: its heading, or its page's title for an intro."""
    return passage.heading if passage.anchor else passage.page_title


def prompt_title(phrasing: str) -> str:
    """A phrasing as a button: a capital first letter and a question mark."""
    text = " ".join(phrasing.split())
    text = text[0].upper() + text[1:]
    return text if text.endswith(("?", ".", "!")) else text + "?"
