"""The routing rules the NLU's :class:`~bot.nlu.router.MessageRouter` applies after DIET, without
Rasa, so they can be read, tested and explained on their own.

:func:`route` takes a message and the intent DIET (and the FallbackClassifier) gave it and says
which intent the policies should see, and why. In order, first match wins:

1. a risk to someone's life or safety -> ``crisis`` (whatever DIET said);
2. an attempt to change the assistant's instructions or role -> ``out_of_scope``;
3. a personal identifier the channel replaced by a placeholder -> ``ask_question`` (with the
   entity ``personal_details_removed``, so the person is told and the rest is answered) when the
   rest reads as a question, else ``share_personal_details``;
4. questions about the assistant itself: "what can you do?" -> ``ask_capabilities``, "can I talk
   to a person?" -> ``request_human``;
5. a message that is small talk through and through ("thanks, that helps") which DIET could not
   place (nlu_fallback) between two small-talk intents -> the likelier of them, so it is never
   searched in the guidance as if it were a question;
6. a small-talk guess (thank, greet, goodbye, affirm, deny, out_of_scope, feedback_*, or
   nlu_fallback) for a message that reads as a question about the guidance -> ``ask_question``;
   a bot_challenge or rate_handoff guess too, when the question also names a topic of the guidance.
7. a guess of an intent the person must ask for in words (cancel, request_human, rate_handoff)
   for a message without any of its words -> ``ask_question`` when the message reads as a
   question (as for nlu_fallback: naming a topic is enough): "if i object to the transfer do i
   get redundancy pay" does not ask for a person, "what was MSP2 in 2018" gives no rating (both
   seen on 2026-12-01, when the blind question split was parsed by the trained model). "yes
   please do that" after an offer of an adviser does not read as a question and stays.

"Reads as a question" (rule 6) is decided on what is left after a leading run of small talk
("great thanks,", "ok and", "sure,") is taken off: it starts with a question word or an auxiliary
verb ("what", "is", "does", "can"), or it ends with "?", or (after "and"/"what about", or when DIET
said nlu_fallback) it names something the guidance is about. Against an out_of_scope guess the
question must also name a topic, follow small talk, or point back ("who checks it?"): "what's the
weather like tomorrow?" stays out of scope. Questions about the assistant as a person ("are you a
bot?", "is anyone there?") and messages that are small talk through and through ("thanks!",
"great thanks", "no thanks") stay as DIET classified them. Intents the person asked for in so
many words (request_human, cancel, tell_me_more) are never changed by rule 6, only by rule 7 when
the message has none of their words.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from bot.safety import find_crisis, is_injection, normalise, placeholders_in, without_placeholders

CHIT_CHAT = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "out_of_scope",
        "feedback_helpful",
        "feedback_unhelpful",
        "nlu_fallback",
    }
)
# intents a rule here never takes a message away from: the person asked for them in so many words
KEEP = frozenset({"request_human", "cancel", "tell_me_more"})
# DIET guesses that a question takes from them only when it names a topic of the guidance
# ("ok so is there funding for this?" is not asking whether the assistant is a bot)
NEEDS_A_TOPIC = frozenset({"bot_challenge", "rate_handoff"})
# what a fallback made only of small talk is taken as, when DIET's runner-up is one of them
SMALL_TALK = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "feedback_helpful", "feedback_unhelpful"})
PERSONAL_ENTITY = "personal_details_removed"
# rule 7: the words without which a guess of these intents does not stand
_ASKED_IN_WORDS = {
    "cancel": re.compile(
        r"\b(?:cancel\w*|stop\w*|never\s*mind|forget|abort\w*|quit|exit|undo|changed?\s+my\s+mind|go(?:ing)?\s+back|"
        r"back\s+to|stay\s+with|pass\s+me|don'?t\s+(?:want|need)|no\s+longer|any\s*more|by\s+mistake|withdraw\w*)\b",
        re.I,
    ),
    "request_human": re.compile(
        r"\b(?:human|person|people|adviser|advisers|advisor|advisors|advice|someone|somebody|anyone|anybody|staff|"
        r"agent|operator|real|talk|speak|chat|call|phone|ring|contact|email|hand\s*off|handover|put\s+(?:me\s+)?through|team)\b",
        re.I,
    ),
    "rate_handoff": re.compile(
        r"(?<![\w.])[1-5](?![\w.])|\b(?:one|two|three|four|five|stars?|rat\w*|score|out\s+of)\b", re.I
    ),
}

# Small talk that can open a message ("great thanks, ..."). Words that also start real questions
# ("right to bid", "fine for late filing", "no win no fee", "well-being") count only before a comma,
# a full stop or another opener.
_OPENERS = [
    r"thanks(?: (?:a lot|so much|very much|for that|for this|again))?",
    r"thank you(?: (?:so much|very much|for that))?",
    r"many thanks",
    r"much appreciated",
    r"thx",
    r"ty",
    r"ta",
    r"cheers",
    r"great",
    r"brilliant",
    r"lovely",
    r"perfect",
    r"excellent",
    r"awesome",
    r"amazing",
    r"fab",
    r"fabulous",
    r"fantastic",
    r"wonderful",
    r"super",
    r"nice(?: one)?",
    r"cool",
    r"ok(?:ay|ey)?",
    r"k",
    r"kk",
    r"sure(?: thing)?",
    r"alright",
    r"all right",
    r"yes",
    r"yeah",
    r"yep",
    r"yup",
    r"ya",
    r"nope",
    r"nah",
    r"hmm+",
    r"hm+",
    r"ah+",
    r"oh+",
    r"aha",
    r"ooh",
    r"i see",
    r"got it",
    r"gotcha",
    r"understood",
    r"noted",
    r"fair enough",
    r"makes sense",
    r"that makes sense",
    r"that helps",
    r"that helped",
    r"that's (?:helpful|useful|great|clear|interesting|good|brilliant)",
    r"thats (?:helpful|useful|great|clear|interesting|good)",
    r"helpful",
    r"useful",
    r"interesting",
    r"good (?:answer|to know|stuff)",
    r"great answer",
    r"hi(?: there)?",
    r"hello(?: there)?",
    r"hey(?: there)?",
    r"and",
    r"also",
    r"plus",
    r"but",
    r"so",
    r"then",
    r"one more thing",
    r"another (?:question|thing)",
    r"quick question",
    r"follow[ -]?up(?: question)?",
    r"please",
    r"oh and",
    r"and also",
    r"ok so",
    r"right then",
]
_ONLY_BEFORE_PUNCTUATION = [
    r"right",
    r"fine",
    r"good",
    r"well",
    r"no",
    r"true",
    r"wow",
    r"clear",
    r"agreed",
    r"excellent stuff",
]
_OPENER = re.compile(
    rf"^(?:(?:{'|'.join(_OPENERS)})(?:[\s,.!;:\-]+|$)|"
    rf"(?:{'|'.join(_ONLY_BEFORE_PUNCTUATION)})(?:\s*[,.!;:\-]+\s*|\s+(?=(?:{'|'.join(_OPENERS)})\b)|$))"
)
_FOLLOW_ON = re.compile(r"^(?:and|also|plus|but|so|then|oh and|and also|ok so)\b")

QUESTION_WORDS = frozenset(
    "what what's whats wat how how's hows who who's whos whom whose when when's where where's why which".split()
)
AUXILIARIES = frozenset(
    "is isn't isnt are aren't arent was wasn't were weren't do does doesn't doesnt don't dont "
    "did didn't can can't cant could couldn't will won't would wouldn't should shouldn't "
    "shall may might must has hasn't have haven't had am".split()
)
_ASKING = re.compile(
    r"^(?:tell me|explain|describe|define|give me|show me|list|i(?:'d| would) like to know|"
    r"i want to know|i need to know|i wonder|i'm wondering|im wondering|i was wondering|"
    r"what about|how about|any (?:idea|advice|info|information|guidance)|do you know|"
    r"is it true|info on|information (?:on|about)|i meant|i mean|what i meant|i was asking|i'm asking|"
    r"my question (?:is|was))\b"
)
# messages about the assistant as a person, or to get its attention: small talk even when asked
_ABOUT_THE_ASSISTANT = re.compile(
    r"^(?:(?:are|r) (?:you|u)\b|who (?:are|r) (?:you|u)\b|how are (?:you|u)\b|how's it going|what's up|"
    r"what(?:'s| is) your name|what are you\b|(?:is|are) (?:anyone|anybody|someone|somebody|you|u) "
    r"(?:there|here|around|real|human|a (?:bot|robot|person|human))|am i (?:talking|chatting|speaking) (?:to|with)|"
    r"who am i (?:talking|chatting|speaking) (?:to|with)|can (?:you|u) (?:help|hear|understand)(?: me| us)?"
    r"(?: please)?$|do (?:you|u) (?:understand|hear) me|can i ask (?:you )?(?:a|something|some)(?: questions?)?$|"
    r"(?:can|may) i ask a question$|is this (?:a bot|a robot|automated|a real person|a person|ai|a human)|"
    r"(?:is|are) (?:a|any) (?:person|human|people|one) (?:reading|there|real|here)|did (?:you|u) get that)"
)
# a few words the guidance is about: enough, after "and ..." or against an out_of_scope guess,
# to count a short message as a question for it ("and for NHS staff")
DOMAIN = re.compile(
    r"\b(?:nhs|council|councils|local authority|pensions?|lgps|fair deal|tupe|cics?|community interest|co-?ops?|"
    r"co-?operatives?|mutuals?|spin(?:ning)?[ -]?outs?|spun out|procurement|procure|contracts?|tenders?|"
    r"commissioners?|commissioning|vat|tax|corporation tax|dividends?|shares?|community shares|societ(?:y|ies)|"
    r"bencom|charit(?:y|ies|able)|trusts?|eots?|employee ownership|employee[- ]owned|asset locks?|assets?|fca|"
    r"companies house|regulators?|grants?|loans?|lenders?|borrow(?:ing)?|social value|social enterprises?|"
    r"social investment|provider selection|psr|right to (?:challenge|bid|request|provide)|moratorium|board|"
    r"directors?|members?|membership|constitution|model rules|articles|ballot|staff|employees?|workforce|"
    r"transfer|admitted body|legal form|guarantee|clg|cio|procurement act|social value act|reserved contracts?|"
    r"regulation 77|business case|scotland|wales|northern ireland|england|funding|finance|investment|profit|"
    r"your (?:answers?|information|sources|guidance)|my (?:data|information|details|conversation)|privacy|"
    r"personal (?:data|information)|gdpr|guidance)\b"
)
# words that point back to what was just said ("who checks it?", "does that apply to us?")
_REFERS_BACK = re.compile(
    r"\b(?:that|this|those|these|they|them|their|the same)\b|"
    r"\bit\b(?!\s*\??\s*$)|(?<!\bis )\bit\b"
)  # "it", but not "what time is it?"
# what can the assistant do / how to reach a person / help
_CAPABILITIES = re.compile(
    r"(?:what (?:else )?(?:can|could|do) (?:you|u|this (?:bot|assistant|thing|service)) (?:do|help (?:me |us )?with|"
    r"help with|cover|answer|know|know about|talk about|tell me about|help me with)(?: (?:here|for me|for us|exactly|"
    r"then|please|today))?|what (?:do|can) (?:you|u) (?:know|answer questions|tell me) (?:about|on)|"
    r"what (?:topics|subjects|questions|things|kinds? of (?:questions|things)|sorts? of (?:questions|things)|areas) "
    r"(?:can|do|could) (?:you|u|i) (?:help with|cover|answer|ask(?: you)?(?: about)?|know about|handle|deal with)|"
    r"what (?:are|is) (?:you|this (?:bot|assistant|chat|chatbot|service|thing)) for|what do (?:you|u) do|"
    r"how (?:can|could|do|might) (?:you|u) help(?: me| us)?(?: here| today)?|help|help me|menu|options|"
    r"what are (?:my|the|your) options|what can i ask(?: you)?(?: about)?|what should i ask(?: you)?|"
    r"show me what (?:you|u) can do|what are (?:you|u) able to (?:do|help with)|(?:tell me )?what (?:you|u) can do|"
    r"what can (?:you|u) do for (?:me|us)|what's this for|what is this for|what do you cover|"
    r"what do (?:you|u) know)"
)
_HUMAN = re.compile(
    r"^(?:(?:can|could|may) (?:i|we) (?:please )?|(?:i|we)(?: want| would like|'d like| d like| need| wanna) to |"
    r"(?:let me|is it possible to|how (?:do|can) (?:i|we)) |(?:please )?(?:let me |can i )?)"
    r"(?:talk|speak|chat) (?:to|with) (?:a |an |one of your |your |someone |somebody )?(?:real |actual |live )?"
    r"(?:person|human|adviser|advisor|advisers|advisors|someone|somebody|member of staff|agent|people)\b"
    r"|^is there (?:a |an )?(?:real |actual )?(?:person|human|adviser|advisor|someone|anyone) (?:i|we) can "
    r"(?:talk|speak|chat) (?:to|with)"
)


@dataclasses.dataclass(frozen=True)
class Route:
    """The intent the policies should see and, when it is not DIET's, the rule that decided it."""

    intent: str
    reason: Optional[str] = None  # None: DIET's intent stands

    @property
    def changed(self) -> bool:
        return self.reason is not None


def strip_openers(text: str) -> "tuple[str, bool, bool]":
    """``(rest, had_opener, follow_on)``: ``text`` (normalised) without its leading small talk;
    ``follow_on`` when the openers included "and", "also", "but", "so" or "then"."""
    rest = normalise(text)
    had, follow_on = False, False
    for _ in range(8):
        m = _OPENER.match(rest)
        if not m or not m.group(0):
            break
        if _FOLLOW_ON.match(m.group(0)):
            follow_on = True
        rest = rest[m.end() :].lstrip(" ,.!;:-")
        had = True
    return rest, had, follow_on


def _words(text: str) -> list:
    return re.findall(r"[a-z0-9][a-z0-9'\-]*", text)


def reads_as_question(text: str, diet_intent: str = "") -> Optional[str]:
    """Why the message reads as a question for the guidance ("question word", "ends with ?",
    "names a topic"), or ``None``."""
    rest, had_opener, follow_on = strip_openers(text)
    words = _words(rest)
    if not words or _ABOUT_THE_ASSISTANT.match(rest.rstrip(" ?!.")):
        return None
    domain = DOMAIN.search(rest)
    if diet_intent == "out_of_scope" and not (domain or had_opener or _REFERS_BACK.search(rest)):
        return None  # "what's the weather like tomorrow": a question, but not one for the guidance
    if diet_intent in NEEDS_A_TOPIC and not domain:
        return None
    if words[0] in QUESTION_WORDS and len(words) >= 2:
        return "starts with a question word"
    if words[0] in AUXILIARIES and len(words) >= 3:
        return "starts with a verb that asks"
    if _ASKING.match(rest) and len(words) >= 3:
        return "asks for information"
    # two words are a question too when they ask whether there is any: "any catch?" after an answer
    # about grants was taken for a goodbye (tried by hand in the widget, 2026-12-02)
    if (
        rest.rstrip().endswith("?")
        and len(words) >= 2
        and (had_opener or domain or len(words) >= 3 or words[0] == "any")
    ):
        return "ends with a question mark"
    if domain and (follow_on or diet_intent in ("out_of_scope", "nlu_fallback")):
        return f"names a topic of the guidance ({domain.group(0)!r})"
    return None


def is_small_talk_only(text: str) -> bool:
    """Whether nothing is left of ``text`` once its small talk is taken off ("thanks, that helps")."""
    rest, had_opener, _ = strip_openers(text)
    return had_opener and not _words(rest)


def is_capabilities_question(text: str) -> bool:
    rest, _, _ = strip_openers(text)
    return bool(_CAPABILITIES.fullmatch(rest.rstrip(" ?!.")))


def asks_for_a_person(text: str) -> bool:
    rest, _, _ = strip_openers(text)
    return bool(_HUMAN.match(rest.rstrip(" ?!.")))


def route(text: str, diet_intent: str, runner_up: str = "") -> Route:
    """Which intent the policies should see for ``text`` that DIET classified as ``diet_intent``
    (``runner_up``: the best intent after it in DIET's ranking, other than nlu_fallback)."""
    if not text or text.startswith("/"):  # a button's payload says its intent itself
        return Route(diet_intent)
    crisis = find_crisis(text)
    if crisis:
        return Route("crisis", f"safety: {crisis}")
    if is_injection(text):
        return Route("out_of_scope", "tries to change the assistant's instructions or role")
    if placeholders_in(text):
        rest = without_placeholders(text)
        if rest and (diet_intent == "ask_question" or reads_as_question(rest, diet_intent)):
            return Route("ask_question", "personal details removed; the rest is a question")
        return Route("share_personal_details", "personal details removed")
    asked_in_words = _ASKED_IN_WORDS.get(diet_intent)
    if asked_in_words is not None and not asked_in_words.search(text):
        why = reads_as_question(text, "nlu_fallback")
        if why:
            return Route("ask_question", f"none of the words of {diet_intent}; reads as a question: {why}")
    if diet_intent in KEEP:
        return Route(diet_intent)
    if is_capabilities_question(text):
        return (
            Route(diet_intent)
            if diet_intent == "ask_capabilities"
            else Route("ask_capabilities", "asks what the assistant can do")
        )
    if diet_intent != "request_human" and asks_for_a_person(text):
        return Route("request_human", "asks for a person")
    if diet_intent == "nlu_fallback" and runner_up in SMALL_TALK and is_small_talk_only(text):
        return Route(runner_up, "small talk through and through")
    if diet_intent in CHIT_CHAT or diet_intent in NEEDS_A_TOPIC or diet_intent == "ask_capabilities":
        why = reads_as_question(text, diet_intent)
        if why:
            return Route("ask_question", f"reads as a question: {why}")
    return Route(diet_intent)
