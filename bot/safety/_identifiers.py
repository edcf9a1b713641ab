"""Personal identifiers a person might type into the chat, found so they can be removed before
the message is kept anywhere: UK National Insurance numbers, payment card numbers (checked with
Luhn's sum) and bank account numbers given with a sort code.

Each is replaced by a placeholder in square brackets (``[card number removed]``) that says what
was there and cannot itself be mistaken for one. The rules lean towards keeping ordinary numbers:
a company number, a phone number, a date or an amount of money is left alone.
"""

from __future__ import annotations

import dataclasses
import re
from typing import List, Tuple

NI_REMOVED = "[National Insurance number removed]"
CARD_REMOVED = "[card number removed]"
BANK_REMOVED = "[bank details removed]"
PLACEHOLDERS = (NI_REMOVED, CARD_REMOVED, BANK_REMOVED)
KIND_OF = {NI_REMOVED: "National Insurance number", CARD_REMOVED: "card number", BANK_REMOVED: "bank details"}

# HMRC's format: two prefix letters, six digits, a suffix A-D; people space it as "QQ 12 34 56 C" or
# not at all. Any two letters count (HMRC's own example, QQ, is not an issued prefix): removing a
# number that only looks like one costs less than keeping one.
_NI_PREFIX = r"[A-Z]{2}"
_NI_DIGITS = r"\d{2}[ \t-]?\d{2}[ \t-]?\d{2}"
NI_NUMBER = re.compile(
    rf"(?<![A-Za-z0-9])({_NI_PREFIX}[ \t-]?{_NI_DIGITS})[ \t-]?([A-D])(?![A-Za-z0-9])", re.IGNORECASE
)
# without its suffix letter only when the message says what it is
NI_CONTEXT = re.compile(r"\b(?:national\s+insurance|ni\s*(?:no|number|#)|nino|nin)\b", re.IGNORECASE)
NI_NO_SUFFIX = re.compile(rf"(?<![A-Za-z0-9]){_NI_PREFIX}[ \t-]?{_NI_DIGITS}(?![A-Za-z0-9])", re.IGNORECASE)

# 13 to 19 digits, in groups separated by single spaces or dashes
# (not inside a web address or a longer word, and not a 13-digit ISBN)
CARD_CANDIDATE = re.compile(r"(?<![\w.,£$€/=#@-])\d(?:[ \-]?\d){12,18}(?!\d|[.,]\d|/|\w)")

SORT_CODE = re.compile(r"(?<![\d.,:/])(\d{2})([ \-])(\d{2})\2(\d{2})(?![\d.,:/])")
SORT_CODE_WORDS = re.compile(
    r"\b(?:sort\s*code|sortcode|s/c)\b[\s:.#-]*(?:is\s+)?(\d{6}|\d{2}[ \-]\d{2}[ \-]\d{2})(?!\d)", re.IGNORECASE
)
ACCOUNT_WORDS = re.compile(
    r"\b(?:(?:bank\s+)?account\s*(?:number|no\.?|num|#)|acc(?:t|ount)?\s*(?:no\.?|number|#)|a/c(?:\s*no\.?)?)"
    r"[\s:.#-]*(?:is\s+)?(\d{4}[ \-]?\d{4}|\d{7,8})(?!\d)",
    re.IGNORECASE,
)
ACCOUNT_NUMBER = re.compile(r"(?<![\d.,£$€])(\d{8}|\d{4} \d{4})(?!\d|[.,]\d)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@dataclasses.dataclass(frozen=True)
class Masked:
    """A message with its personal identifiers replaced; ``removed`` names what was removed, in order."""

    text: str
    removed: Tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.removed)


def _spans_of_cards(text: str) -> List[Tuple[int, int]]:
    spans = []
    for m in CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        isbn = len(digits) == 13 and digits.startswith(("978", "979"))
        if 13 <= len(digits) <= 19 and not isbn and luhn_valid(digits) and len(set(digits)) > 1:
            spans.append(m.span())
    return spans


def _spans_of_bank_details(text: str) -> List[Tuple[int, int]]:
    """A sort code and an account number together, or either said to be one ("sort code 12-34-56")."""
    spans = [m.span(1) for m in SORT_CODE_WORDS.finditer(text)]
    spans += [m.span(1) for m in ACCOUNT_WORDS.finditer(text)]
    sort_codes = [m.span() for m in SORT_CODE.finditer(text)]
    accounts = [m.span() for m in ACCOUNT_NUMBER.finditer(text)]
    if sort_codes and accounts:
        spans += sort_codes + accounts
    elif spans and sort_codes:  # "account number 12345678, 12-34-56": the sort code goes with it
        spans += sort_codes
    elif spans and accounts:
        spans += accounts
    return spans


def _replace(text: str, spans: List[Tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, mark in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start < last:
            continue  # overlapping: the first found wins
        out.append(text[last:start])
        out.append(mark)
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_identifiers(text: str) -> Masked:
    """``text`` with National Insurance numbers, card numbers and bank details replaced by
    placeholders; ``Masked.removed`` lists the placeholders used (each once, in the order of the text)."""
    if not text or not any(ch.isdigit() for ch in text):
        return Masked(text or "")
    spans: List[Tuple[int, int, str]] = []
    spans += [(s, e, CARD_REMOVED) for s, e in _spans_of_cards(text)]
    spans += [(m.start(), m.end(), NI_REMOVED) for m in NI_NUMBER.finditer(text)]
    if NI_CONTEXT.search(text):
        spans += [(m.start(), m.end(), NI_REMOVED) for m in NI_NO_SUFFIX.finditer(text)]
    card_or_ni = [(s, e) for s, e, _ in spans]
    spans += [
        (s, e, BANK_REMOVED)
        for s, e in _spans_of_bank_details(text)
        if not any(s < ce and cs < e for cs, ce in card_or_ni)
    ]
    if not spans:
        return Masked(text)
    masked = _replace(text, spans)
    # one placeholder for a run of the same kind ("12-34-56 12345678" is one set of bank details)
    for mark in PLACEHOLDERS:
        masked = re.sub(rf"{re.escape(mark)}(?:[\s,;/&]+(?:and\s+)?{re.escape(mark)})+", mark, masked)
    removed = tuple(dict.fromkeys(mark for _, _, mark in sorted(spans) if mark in masked))
    return Masked(masked, removed)


PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))


def placeholders_in(text: str) -> Tuple[str, ...]:
    """The placeholders a masked message carries, each once."""
    return tuple(dict.fromkeys(PLACEHOLDER.findall(text or "")))


# what a person typically writes around a number they give: "my card number is", "here's my NI:"
_AROUND = re.compile(
    r"\b(?:(?:here(?:'s| is)|this is|it's|it is)\s+)?(?:my|our|the|his|her|their)?\s*"
    r"(?:long\s+)?(?:national\s+insurance(?:\s+(?:number|no\.?))?|ni\s*(?:no\.?|number)?|nino|nin|"
    r"(?:credit|debit|bank|payment)?\s*card(?:\s+(?:number|no\.?|details))?|card\s+details|"
    r"(?:bank\s+)?account(?:\s+(?:number|no\.?|details))?|acc(?:t)?\.?\s*(?:no\.?|number)|a/c(?:\s*no\.?)?|"
    r"sort\s*code|bank\s+details)"
    r"\s*(?:is|are|was|:|-|=)?\s*$",
    re.IGNORECASE,
)


def without_placeholders(text: str) -> str:
    """The message with the placeholders (and the words introducing them, "my card number is")
    taken out: what is left to answer, or ``""`` when the message was only the number."""
    parts = PLACEHOLDER.split(text or "")
    kept = []
    for i, part in enumerate(parts):
        if i < len(parts) - 1:
            part = _AROUND.sub("", part)
        kept.append(part)
    rest = " ".join(p.strip(" \t,;:.-") for p in kept if p.strip(" \t,;:.-"))
    rest = re.sub(r"\s+", " ", rest).strip()
    rest = re.sub(r"^(?:and|so|but|also)\b[\s,]*", "", rest, flags=re.IGNORECASE)
    return rest.strip()
