"""Messages that show a risk to someone's life or safety: suicidal thoughts, self-harm, abuse, or
someone in danger now. Such a message is answered with where to get help, before anything else.

The phrases are explicit on purpose. The guidance is full of words like "risk", "kill", "danger"
and "abuse" used about contracts, pensions and organisations ("the risk to my pension", "kill the
contract", "in danger of insolvency", "abuse of a dominant position", "our domestic abuse service
wants to spin out", "the cuts are going to hurt us"), so a word alone never triggers: it takes a
person as the one at risk ("I", "me", "my partner ... me", "my friend wants to kill herself") or a
phrase with only one meaning ("suicidal", "end my life").
"""

from __future__ import annotations

import re
from typing import Optional

_ME = (
    r"(?:i|i'm|im|i am|i've|ive|i have|i feel|i really|i just|i do|i honestly|i still|i sometimes|"
    r"i often|i kind of|i kinda)"
)
_SELF = r"(?:myself|my ?self)"
_OTHER_SELF = r"(?:himself|herself|themselves|themself)"
_FAMILY = (
    r"(?:friend|best friend|mate|partner|husband|wife|boyfriend|girlfriend|son|daughter|child|children|"
    r"kid|kids|baby|brother|sister|mum|mom|mother|dad|father|stepdad|stepmum|stepfather|stepmother|"
    r"parents?|family|flatmate|cousin|nan|gran|grandad|grandma|grandmother|grandfather|uncle|aunt|ex)"
)
_CLAUSE_END = r"(?=\s*(?:$|[.,!?;:]|any ?more|any longer|like this|\band\b|\bbut\b|\bso\b))"

PATTERNS = {
    "suicide": [
        rf"\b(?:kill|killing|killed) {_SELF}\b",
        rf"\b(?:kill|killing) {_OTHER_SELF}\b",
        r"\b(?:end|ending|take|taking|took|taken) (?:my|his|her|their) (?:own )?life\b",
        r"\b(?:end|ending) it all\b",
        r"\bsuicidal\b",
        r"\bsuicide (?:attempt|note|plan|thoughts)\b",
        r"\b(?:commit|committing|committed|attempt|attempted|attempting|thinking about|thinking of|thoughts of|"
        r"thought about|considering|contemplating|planning) suicide\b",
        rf"\b{_ME} (?:want|wanna|wish|wanted|would like|plan|planning|am going|'m going|m going|going|gonna) "
        r"(?:to )?(?:die|be dead)\b",
        r"\b(?:i|i'd|i would) (?:rather|sooner) (?:be dead|die)\b",
        r"\bwish (?:i|i'd) (?:was|were) dead\b",
        r"\bwish i (?:had|'d) never been born\b",
        r"\bwish i (?:wasn't|was not|weren't|were not) (?:here|alive|around)\b",
        r"\b(?:don't|dont|do not|no longer) (?:want|wanna|wish) to (?:live|be alive|be here|exist|wake up|go on)"
        + _CLAUSE_END,
        r"\bno (?:reason|point) (?:to|in) (?:live|living|go on|going on|carry on|carrying on|being alive|being here)"
        + _CLAUSE_END,
        r"\bnot worth living\b",
        r"\b(?:life|living) (?:is|feels) (?:pointless|meaningless|not worth it)\b",
        r"\b(?:better off|be better) (?:dead|without me)\b",
        r"\bcan(?:'t|not|t) (?:go on|carry on|keep going|cope|take (?:it|this)) any ?(?:more|longer)\b",
        rf"\b(?:hang|hanging|drown|drowning|poison|poisoning|suffocate|shoot) {_SELF}\b",
        r"\b(?:take|taking|took|taken|swallow|swallowed) (?:an? )?(?:overdose|all (?:my|the|of my) (?:pills|tablets))\b",
        rf"\b(?:i|he|she|someone|somebody|my {_FAMILY})(?: has| have|'s|'ve| just)? overdosed\b",
        r"\bjump (?:off|from|in front of) (?:a|the) (?:bridge|train|building|roof|cliff|car)\b",
        r"\b(?:feel|feeling|felt) like (?:dying|ending it|ending my life|giving up on life)\b",
        r"\bnot (?:want|wanting) to be alive\b",
    ],
    "self_harm": [
        rf"\b(?:i|i've|ive|i have|i'm|im|i am|i keep|i want to|i feel like|i've been|i started|i still|"
        rf"my {_FAMILY} (?:is|has been|keeps?|has started))\b[^.?!]{{0,20}}\bself[ -]?harm",
        r"\b(?:urge|urges|thoughts?) (?:to|of|about) self[ -]?harm",
        rf"\b(?:hurt|hurting|harm|harming|cut|cutting|burn|burning|injure|injuring) {_SELF}\b"
        r"(?! (?:off|out|short|on paper))",
        r"\bcut (?:my|his|her) (?:wrists?|arms?|legs?|skin)\b",
        r"\bstarve (?:myself|my ?self)\b",
    ],
    "abuse": [
        rf"\b(?:he|she|they|someone|somebody|my {_FAMILY}|my (?:boss|manager|carer|landlord|neighbour|teacher|"
        r"coach)) (?:keeps? |has |have |always |sometimes |often |still |just )?"
        r"(?:hits?|hitting|beats?|beat|punch(?:es)?|punched|kicks?|kicked|slaps?|slapped|chokes?|choked|"
        r"strangles?|strangled|rapes?|raped|abuses?|abused|hurts?|attacks?|attacked|touches|touched) "
        rf"(?:me|my (?:kids|children|child|son|daughter|baby))\b",
        r"\b(?:i'm|im|i am|i've been|ive been|i have been|i was|i get|i got|we are|we're|my child is|"
        r"my (?:son|daughter|kids|children) (?:is|are)) (?:being |getting )?(?:abused|beaten|beaten up|raped|"
        r"sexually assaulted|assaulted|groomed|trafficked|strangled|choked|hurt at home|hit at home)\b",
        r"\b(?:abusing|raping|assaulting|grooming|beating|hitting|strangling|choking) "
        r"(?:me|my (?:kids|children|child|son|daughter))\b",
        rf"\b(?:i|i'm|im|i am|i've been|ive been|i have been|i was|we are|we're|my {_FAMILY} (?:is|has been|was)) "
        r"(?:currently |still |now )?(?:experiencing|suffering|living with|living in|a victim of|the victim of|"
        r"escaping|fleeing|going through|trapped in) "
        r"(?:domestic (?:abuse|violence)|abuse|coercive control|sexual abuse|violence at home|an abusive)",
        r"\b(?:my|i'm in an?|i am in an?|im in an?|i live in an?|i live with an?) (?:abusive|violent) "
        r"(?:partner|husband|wife|boyfriend|girlfriend|relationship|parents?|dad|mum|father|mother|ex|home|"
        r"household|family)\b",
        r"\b(?:scared|afraid|frightened|terrified) (?:of|to go|of going|to be) (?:home|at home|alone with (?:him|her)|"
        rf"my {_FAMILY})\b",
        r"\b(?:i|we) (?:don't|dont|do not) feel safe (?:at home|with (?:him|her|them|my \w+)|in my (?:home|house))\b",
        r"\b(?:a|my|the|this) child is being (?:abused|hurt|harmed|neglected|beaten)\b",
        rf"\bthreat(?:en|ens|ened|ening) to (?:kill|stab|shoot|hurt|strangle|rape) (?:me|us|my {_FAMILY}|him|her|"
        rf"them|himself|herself|themselves)\b",
    ],
    "danger": [
        rf"\b(?:i am|i'm|im|my {_FAMILY}(?: is|'s| are)?|someone is|somebody is|someone's|a child is|"
        r"a (?:man|woman|person|girl|boy) is|he is|he's|she is|she's) (?:in|at) (?:immediate |real |serious |"
        r"great |grave )?danger\b(?! of\b)",
        rf"\b(?:i am|i'm|im|my {_FAMILY}(?: is|'s| are)?|someone is|a child is|he is|he's|she is|she's) at "
        r"(?:immediate |serious |real )?risk of (?:harm|being hurt|being harmed|being killed|abuse|violence)\b",
        r"\b(?:my|his|her) (?:life|life's) (?:is )?(?:in danger|at risk|under threat)\b",
        r"\bour lives are (?:in danger|at risk|under threat)\b",
        rf"\b(?:he|she|they|someone|somebody|my {_FAMILY})(?:'s| is|'re| are| was| were)? (?:going|gonna|trying|"
        rf"about|coming) to (?:kill|hurt|stab|shoot|strangle|attack) (?:me|us|my {_FAMILY}|himself|herself|"
        r"themselves)\b",
        r"\b(?:he|she|they|someone|somebody|a man|a woman)(?:'s| is|'re| are| has| have|'ve)? (?:got |holding |"
        r"waving |with )?(?:a|an) (?:knife|gun|weapon|axe)\b(?! crime)",
        r"\b(?:isn't|is not|isnt|not|stopped|has stopped|have stopped) breathing\b",
        rf"\b(?:he|she|someone|somebody|my {_FAMILY}|a (?:man|woman|child|person)) (?:has|'s|just) "
        r"(?:collapsed|been stabbed|been shot|stopped breathing)\b",
        r"\b(?:i'm|im|i am|i feel|we're|we are) (?:not safe|unsafe)\b",
        r"\b(?:i|we) (?:don't|dont|do not) feel safe\b",
    ],
}

# figurative or organisational uses that contain a listed phrase, removed before the search
NOT_CRISIS = [
    r"\b(?:commercial|political|financial|economic|career|professional|corporate|business|social media|"
    r"electoral) suicide\b",
    r"\b(?:kill|killing|killed) (?:myself|my ?self) (?:laughing|with laughter)\b",
    r"\bhits? (?:me|us) (?:with (?:a |an |the |another |this |that |more |loads of |lots of )?(?:\w+ )?"
    r"(?:bill|charge|fee|fine|cost|invoice|letter|question|demand|tax|penalty|request|email)s?|up)\b",
]

_COMPILED = {kind: [re.compile(p, re.IGNORECASE) for p in patterns] for kind, patterns in PATTERNS.items()}
_NOT = [re.compile(p, re.IGNORECASE) for p in NOT_CRISIS]


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, single spaces."""
    text = (text or "").replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = re.sub(r"[\u201c\u201d]", '"', text)
    return re.sub(r"\s+", " ", text).strip().lower()


def find_crisis(text: str) -> Optional[str]:
    """``"suicide"``, ``"self_harm"``, ``"abuse"`` or ``"danger"`` when the message shows a risk to
    someone's life or safety, else ``None``."""
    norm = normalise(text)
    if not norm:
        return None
    for pattern in _NOT:
        norm = pattern.sub(" ", norm)
    for kind, patterns in _COMPILED.items():
        if any(p.search(norm) for p in patterns):
            return kind
    return None
