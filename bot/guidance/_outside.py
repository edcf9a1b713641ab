"""Questions next to the guidance that it does not cover, declined with a signpost.

"how do i get my NHS pension statement online" shares its words with the page on NHS staff
moving to a mutual and scores above the threshold there, but it is a question for the person's
pension scheme, not for this guidance. ``knowledge/outside/topics.yml`` lists such topics (the
State Pension, council services, NHS care, problems at one's own work, personal money, the Co-op
as a shop or bank, the news, other countries' law ...), each with a few ways people ask about it
and where to go instead. Their phrasings are embedded with the index. A question is declined as
*outside the guidance* unless the best the guidance offers (its nearest passage or phrasing) is
nearer than the nearest outside phrasing by more than :data:`OUTSIDE_MARGIN`: cosines of the
same model, so the rule can be read off the reply's log line.

:data:`OUTSIDE_MARGIN` is -0.02: the outside phrasing must be nearer than anything in the
guidance by 0.02. It was chosen on the tune split (`mutuals eval retrieval --split tune
--outside`, docs/answers.md) when the outside topics were widened to 20 topics and 667
phrasings (2026-12-01): with the answer threshold in use, the margin and softer rule that
decline the most must-not-answer questions there while wrongly declining at most 3 % of the
answerable ones. Before, with 160 phrasings, a margin of 0 was chosen; with four times as many
phrasings, 0 declined three answerable questions more ("setting up a co-operative in belfast"
came near "co-operative law in the republic of ireland").

A second, softer rule catches a question that is *almost* as near a topic outside as anything
inside and is answered with a middling score: it is declined when its answer score, less
*weight* x (outside cosine - inside cosine), falls below a second threshold (:data:`NEARNESS_FOR`).
A question far from every outside topic loses nothing (the difference is negative and adds to
its score); one that is close needs a surer answer. Both numbers were chosen on the tune split
(`mutuals eval retrieval --split tune --outside`, docs/answers.md): the weight that declines the
most must-not-answer questions there with hit@1 no lower and at most 3 % of answerable ones
declined, and for it the highest threshold within that 3 %. Since the topics were widened no
setting adds anything within the 3 % (the margin declines what it would), so it is off for
both models (:data:`NEARNESS_FOR` is empty); the grid prints it again when the topics change.
The rule is on the tuned model's score scale, so it applies only with that model, and only to
a message searched alone (a follow-up's in-context score has its own scale).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

OUTSIDE_MARGIN = -0.02  # see the docstring
# the softer rule's (weight, threshold) per embedding model kind ("tuned", "base"); none in use, see the docstring
NEARNESS_FOR: Dict[str, Tuple[float, float]] = {}


# Another country's law or organisations: "how are social enterprises taxed in germany", "setting up
# a co-operative in the republic of ireland". The guidance is about the UK's four nations only, but
# such questions share every other word with it, so the cosines alone do not catch them (seen on
# the fresh and blind splits). Northern Ireland, Wales, Scotland and England are not in the list,
# nor "the EU" (the guidance explains what replaced the EU procurement rules).
_COUNTRIES = (
    r"(?:the\s+)?republic\s+of\s+ireland|the\s+irish\s+republic|the\s+republic|roi|eire|éire|(?<!northern\s)ireland|"
    r"france|germany|spain|italy|portugal|the\s+netherlands|netherlands|holland|belgium|denmark|sweden|norway|"
    r"finland|poland|greece|switzerland|austria|the\s+us|the\s+usa|usa|the\s+united\s+states|the\s+states|"
    r"america|canada|australia|new\s+zealand|india|china|japan|nigeria|south\s+africa|kenya|brazil|mexico|"
    r"the\s+isle\s+of\s+man|isle\s+of\s+man|jersey|guernsey|the\s+channel\s+islands|gibraltar"
)
_ELSEWHERE = re.compile(
    rf"\b(?:in|under|for|across|throughout)\s+(?:{_COUNTRIES})\b"
    r"|(?<!northern\s)\b(?:irish|french|german|spanish|italian|dutch|american|canadian|australian|indian|polish)\s+"
    r"(?:law|laws|rules|co-?ops?|co-?operatives?|compan(?:y|ies)|charit(?:y|ies)|tax|taxes|government|version|"
    r"equivalent|legal\s+forms?)\b",
    re.IGNORECASE,
)
ELSEWHERE_TOPIC = "other-countries"  # the topic of knowledge/outside/ whose signpost such questions get


@dataclasses.dataclass(frozen=True)
class OutsideTopic:
    """A topic the guidance does not cover, how people ask about it, and where to go instead."""

    id: str
    signpost: str  # a name ("Acas: advice on problems at work")
    url: str  # its address, or "" when there is no one place
    asked: Tuple[str, ...]


def outside_dir(pages_dir: Path) -> Path:
    return Path(pages_dir).parent / "outside"


def load_outside(pages_dir: Path) -> List[OutsideTopic]:
    """The topics of ``knowledge/outside/*.yml`` (none when the folder is missing)."""
    topics = []
    for path in sorted(outside_dir(pages_dir).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("topics") or []:
            signpost = item.get("signpost") or {}
            asked = tuple(str(a).strip() for a in item.get("asked") or [] if str(a).strip())
            if not item.get("id") or not signpost.get("name") or not asked:
                raise ValueError(f"{path.name}: each topic needs an id, a signpost name and phrasings ({item!r})")
            topics.append(OutsideTopic(str(item["id"]), str(signpost["name"]), str(signpost.get("url") or ""), asked))
    return topics


def elsewhere_topic(text: str, topics: Sequence[OutsideTopic]) -> Optional[OutsideTopic]:
    """The other-countries topic when ``text`` asks about a country outside the UK, else None."""
    if not _ELSEWHERE.search(" ".join(str(text).split())):
        return None
    return other_countries_topic(topics)


def other_countries_topic(topics: Sequence[OutsideTopic]) -> Optional[OutsideTopic]:
    """The topic of knowledge/outside/ whose signpost questions about another country get."""
    return next((t for t in topics if t.id == ELSEWHERE_TOPIC), None)


def signpost_text(topic: OutsideTopic) -> str:
    """The reply for a question outside the guidance: what it covers, and where to go instead."""
    where = f"[{topic.signpost}]({topic.url})" if topic.url else topic.signpost
    return (
        "That's outside what this guidance covers: it is about public service mutuals, co-operatives, "
        f"community interest companies and employee ownership. For this, {where} is the place to ask. "
        "If your question is about a mutual after all, an adviser can help."
    )


def maybe_outside_text(topic: OutsideTopic) -> str:
    """The reply when a question is only *almost* as near a topic outside the guidance (the softer
    rule): not sure, where to go if that is what it was about, and the adviser."""
    where = f"[{topic.signpost}]({topic.url})" if topic.url else topic.signpost
    return (
        "I'm not sure this guidance answers that, and I'd rather not guess. If your question is not about "
        f"a mutual or co-operative, {where} may be the place to ask. These topics may be close, or an "
        "adviser can help."
    )


def outside_wins(outside: float, inside: float, margin: Optional[float] = None) -> bool:
    """Whether a question is about as near (``margin``) a topic outside the guidance as anything in it."""
    return outside >= inside - (OUTSIDE_MARGIN if margin is None else margin)


def nearness_rule(embedder) -> Optional[Tuple[float, float]]:
    """The softer rule's (weight, threshold) for the model ``embedder`` runs, or None."""
    while embedder is not None and not hasattr(embedder, "kind") and hasattr(embedder, "inner"):
        embedder = embedder.inner
    return NEARNESS_FOR.get(getattr(embedder, "kind", "base"))


def too_near_outside(score: float, outside: float, inside: float, rule: Optional[Tuple[float, float]]) -> bool:
    """Whether an answer scoring ``score`` is too unsure for how near the question is to a topic
    outside the guidance (the softer rule of the module's docstring)."""
    if rule is None:
        return False
    weight, threshold = rule
    return score - weight * (outside - inside) < threshold
