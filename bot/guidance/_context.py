"""Follow-up questions: searching a message alone, or together with the question in play.

"cool, is there a limit?" only makes sense after "What are community shares?". The conversation
keeps the question last answered and the section it was answered from (:class:`Context`, held
in Rasa's slots); each new message is searched alone and, when there is a context, also joined
to the question in play (the way GOV.UK Chat rephrases a follow-up, without a language model:
the two questions side by side). Which of the two searches answers is decided by scores that
can be read off the reply's log line:

1. No context, or a message that announces a new topic ("something else - what's a bencom?",
   "different question: ...", "on another note, ..."): the message alone, without the announcement.
2. The message alone is confident and reads as a question of its own (no follow-up cue): alone.
   A clear change of topic starts afresh.
3. Otherwise each section is scored *in context*: a weighted mean of its score for the message
   and its score for the message joined to the question in play (weight :data:`CONTEXT_WEIGHT`
   on the joined one), so the section must fit both what is asked now and the topic in play
   ("is there a limit?" finds the limit section of the community shares page, not its opening);
   the sections of the page in play get :data:`PAGE_BONUS` x the threshold more, so "would I get
   redundancy pay then?" after a question about refusing a TUPE transfer stays on the TUPE page.
   The best section answers if that mean reaches :data:`CONTEXT_THRESHOLD` x the threshold and
   the message itself still points at it: its own score there is at least :data:`OWN_SHARE` x the
   threshold for a message with a follow-up cue, :data:`OWN_SHARE_WITHOUT_CUE` x for one without
   (so "what's the weather in Leeds?" after a question about CICs is not answered about CICs).
   Else the message alone, confident or not.
4. The outside-the-guidance rule (``_outside.py``) looks at the joined query and, for a message
   searched in context that has no follow-up cue or has :data:`OWN_WORDS` words of its own or
   more, at the message's own words too: "where do I download my annual pension statement?" after
   a question about NHS pensions, or "can I use it to buy my own house?" after the Community
   Right to Buy, are about one's own affairs, which the joined query hides. Shorter ones ("any
   catch?", "who do we register with?") say too little alone to be judged that way, unless a
   topic outside is clearly nearer, by :data:`OWN_CLEAR_MARGIN` ("and when can I get my state
   pension, I'm 61?" after a question about teachers' pensions).

A *follow-up cue* is what makes a message lean on the one before: a pronoun or "the same"
("does it cover pensions too?", "is that the same for a CIC?"), an opening "and", "what about",
"how about", "also", or very few words of its own ("how long?", "any tax breaks?"). A short
question asking what something is ("What is TUPE?", "what's a bencom?") names its own topic and
is no follow-up: the CI scale-out run of 2026-12-01 found "What is TUPE?" answered from the TUPE
pension section because the question before was about council pensions. ("what is the limit?"
points back, by its "the", and stays a follow-up.)
"""

from __future__ import annotations

import dataclasses
import re
from typing import List, Optional

import numpy as np

from ._index import GuidanceIndex
from ._search import Hit, best_hits, tokens

# The in-context score, its threshold and the message's own share: chosen on the dialogue tuning
# split (`mutuals eval dialogue --split tune --grid`, docs/answers.md).
CONTEXT_WEIGHT = 2.0
CONTEXT_THRESHOLD = 0.8
OWN_SHARE = 0.0
OWN_SHARE_WITHOUT_CUE = 0.5
PAGE_BONUS = 0.05
OWN_WORDS = 4
# a shorter cue message's own words are checked too, but must be clearly nearer a topic outside
# (by this much): "and when can I get my state pension?" after a question about teachers' pensions
OWN_CLEAR_MARGIN = 0.3
CONTEXT_WORDS = 40  # the question in play is kept to its last this many words
_LEANING = re.compile(
    r"\b(?:it|its|it's|that|that's|thats|this(?!\s+(?:week|month|year|morning|afternoon|evening|weekend)\b)"
    r"|these|those|they|them|their|there|same|one|ones|also|too|either)\b",
    re.I,
)
_OPENING = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|cool|great|thanks|thank you|right|sure|yes|yeah|no|hmm|and|so|but|also|then)\b[\s,.!]*)*"
    r"(?:and|what about|how about|also|plus|what if|but|or|then)\b",
    re.I,
)

# "something else - ...", "separate thing, ...", "different question: ...": a new topic, announced
# ("another question", "one more thing" are left out: they as often lead to a follow-up)
_NEW_TOPIC = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|thanks|thank you|cool|great|right|sure)\b[\s,.!]*)*"
    r"(?:(?:a|an|on\s+an?|one)\s+)?"
    r"(?:(?:separate|different|unrelated)\s+(?:thing|question|topic|subject|matter|note|query)"
    r"|new\s+(?:topic|subject)|something\s+else(?!\s+about)|change\s+of\s+(?:subject|topic)"
    r"|changing\s+(?:the\s+)?(?:subject|topic)|unrelated|on\s+another\s+note)\b"
    r"(?:\s+(?:but|now|here|please))?[\s,.:;!?\-–—]*",
    re.I,
)

# "what is TUPE?", "what's a bencom", "define an asset lock": asks what something is, by its name
_DEFINING = re.compile(
    r"^\s*(?:what\s+(?:is|are)|what's|whats|define|explain|meaning\s+of)\s+(?:an?\s+)?(?!(?:the|that|this|it|they|them|those|these)\b)\w",
    re.I,
)


@dataclasses.dataclass(frozen=True)
class Context:
    """What a conversation is about now: the question last answered and its section (``slug#anchor``)."""

    question: str
    passage_id: str
    clarifying: bool = False  # the assistant asked "Do you mean … or …?" and waits for a pick

    def joined_with(self, message: str) -> str:
        words = self.question.split()[-CONTEXT_WORDS:]
        return " ".join(words + message.split())


@dataclasses.dataclass(frozen=True)
class Search:
    """The search that answers a message: its hits, the query it ran and that query's embedding."""

    hits: List[Hit]
    query: str
    vector: Optional[np.ndarray]
    in_context: bool = False
    # searched in context: the message's own embedding, which the outside-the-guidance rule checks
    # as well (GuidanceDesk._outside); own_words: it has no follow-up cue, or OWN_WORDS words of its
    # own, so its own words are judged like a message alone (else only a clear win counts)
    own_vector: Optional[np.ndarray] = None
    own_words: bool = False


def follow_up_cue(message: str) -> bool:
    """Whether a message leans on what came before (see the module's docstring)."""
    if _LEANING.search(message) or _OPENING.match(message):
        return True
    return len(tokens(message)) <= 2 and not _DEFINING.match(message)


def choose_search(
    index: GuidanceIndex,
    message: str,
    context: Optional[Context],
    threshold: float,
    mode: str = "hybrid",
    k: int = 10,
    rules: Optional["ContextRules"] = None,
) -> Search:
    """Search ``message`` alone or in ``context``, by the rules in this module's docstring."""
    rules = rules or ContextRules()
    announced = _NEW_TOPIC.match(message)
    if announced and message[announced.end() :].strip():
        message, context = message[announced.end() :].strip(), None  # a new topic: nothing carried over
    vector = index.embedder.encode_one(message) if mode != "bm25" else None
    if context is None or mode == "rrf":
        return Search(index.search(message, mode=mode, k=k, vector=vector), message, vector)
    alone = index.score_all(message, mode=mode, vector=vector)
    cue = follow_up_cue(message)
    if float(alone.max(initial=0.0)) >= threshold and not cue:
        return Search(best_hits(index.passages, alone, k), message, vector)
    joined = context.joined_with(message)
    joined_vector = index.embedder.encode_one(joined) if mode != "bm25" else None
    together = index.score_all(joined, mode=mode, vector=joined_vector)
    in_context = (alone + rules.weight * together) / (1 + rules.weight)
    if rules.page_bonus:
        in_context = in_context + rules.page_bonus * threshold * index.on_page(context.passage_id.partition("#")[0])
    best = int(np.argmax(in_context)) if len(in_context) else 0
    own = rules.own_share if cue else rules.own_share_without_cue
    if len(in_context) and in_context[best] >= rules.threshold * threshold and alone[best] >= own * threshold:
        # the hits carry the in-context score put on the threshold's scale
        return Search(
            best_hits(index.passages, in_context / rules.threshold, k),
            joined,
            joined_vector,
            in_context=True,
            own_vector=vector,
            own_words=not cue or len(tokens(message)) >= OWN_WORDS,
        )
    return Search(best_hits(index.passages, alone, k), message, vector)


@dataclasses.dataclass(frozen=True)
class ContextRules:
    """The numbers of rule 3 (the module's constants unless a tuning run tries others)."""

    weight: float = CONTEXT_WEIGHT
    threshold: float = CONTEXT_THRESHOLD
    own_share: float = OWN_SHARE
    own_share_without_cue: float = OWN_SHARE_WITHOUT_CUE
    page_bonus: float = PAGE_BONUS
    own_clear_margin: float = OWN_CLEAR_MARGIN
