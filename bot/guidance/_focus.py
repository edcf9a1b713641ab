"""Focused answers: the one to three sentences of a section that answer the question asked.

A section is split into *units*: sentences of its paragraphs, and list items (a sentence ending in
a colon keeps the list that follows it, so a list is never shown without what it lists). The
index embeds every unit once (``GuidanceIndex.units``); at answer time each unit of the chosen
section is scored against the question and the best one leads. Its neighbours join it, best
first, while the reply stays under :data:`FOCUS_CHARS`; the units are then shown in the
section's own order, so the text reads as it was written. What is left over is offered with
"Tell me more".
"""

from __future__ import annotations

import dataclasses
import re
from typing import List, Optional, Sequence

import numpy as np

FOCUS_CHARS = 340  # the focused text aims under this (a phone screen), whole units only
MAX_UNITS = 3
# a unit joins the best one when it scores at least this share of the best unit's score (a
# neighbour of the best, NEAR_SHARE; any other, JOIN_SHARE), and an answer under SHORT_CHARS takes
# the sentence after it too
JOIN_SHARE = 0.8
NEAR_SHARE = 0.5
SHORT_CHARS = 150

# a sentence ends at . ! or ? followed by a space and a capital, digit, quote or bracket; not
# inside a markdown link, and not after the usual abbreviations
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(\[A-Z0-9£])")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|no|s|ss|reg|regs|para|art|cf|vs|approx|Dr|Mr|Mrs|Ms|St|c)\.)$", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclasses.dataclass(frozen=True)
class Unit:
    """A sentence, or a list item, of one section, with where it starts in the section's text."""

    text: str
    order: int


def split_units(text: str) -> List[Unit]:
    """The units of a section's markdown text, in order."""
    units: List[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(_LIST_ITEM.match(line) or line.startswith("  ") for line in lines[1:]) and _LIST_ITEM.match(lines[-1]):
            # a paragraph introducing a list, or a list alone: the lead-in's sentences, then the list
            lead = [line for line in lines if not _LIST_ITEM.match(line) and not line.startswith("  ")]
            items = [line.strip() for line in lines if _LIST_ITEM.match(line) or line.startswith("  ")]
            sentences = _sentences(" ".join(lead)) if lead else []
            if sentences and sentences[-1].endswith(":"):
                units.extend(sentences[:-1])
                units.append(sentences[-1] + "\n" + "\n".join(items))
            else:
                units.extend(sentences)
                units.append("\n".join(items))
        else:
            units.extend(_sentences(" ".join(line.strip() for line in lines)))
    return [Unit(u, i) for i, u in enumerate(units)]


def _sentences(paragraph: str) -> List[str]:
    out: List[str] = []
    pieces = _SENTENCE_END.split(paragraph)
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        # glue back a split after an abbreviation or inside a link's [words]
        if out and (
            _ABBREVIATION.search(out[-1])
            or out[-1].count("[") > out[-1].count("]")
            or out[-1].count("(") > out[-1].count(")")
        ):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def focus(units: Sequence[Unit], scores: Optional[np.ndarray], limit: int = FOCUS_CHARS) -> List[Unit]:
    """The units that answer best, in the section's order.

    ``scores`` holds one score per unit (higher answers better); ``None`` leads with the first
    units, as when a person picks a topic rather than asking something.
    """
    if not units:
        return []
    if scores is None:
        chosen: List[Unit] = []
        for unit in units:
            if chosen and (len(chosen) == MAX_UNITS or _length(chosen + [unit]) > limit):
                break
            chosen.append(unit)
        return chosen
    order = sorted(range(len(units)), key=lambda i: (-float(scores[i]), i))
    best = order[0]
    top = max(float(scores[best]), 1e-6)
    chosen_ids = [best]
    for i in order[1:]:
        if len(chosen_ids) == MAX_UNITS:
            break
        share = NEAR_SHARE if abs(i - best) == 1 else JOIN_SHARE
        trial = sorted(chosen_ids + [i])
        if float(scores[i]) >= share * top and _length([units[j] for j in trial]) <= limit:
            chosen_ids = trial
    # a lone unit that says "This" or "It" leans on the one before it: show that one too
    if len(chosen_ids) == 1 and best > 0 and re.match(r"(?:This|That|These|It|They|But|However)\b", units[best].text):
        trial = [best - 1, best]
        if _length([units[j] for j in trial]) <= limit + 120:
            chosen_ids = trial
    # too short to read as an answer: the sentence after it follows on
    after = chosen_ids[-1] + 1
    if (
        _length([units[i] for i in chosen_ids]) < SHORT_CHARS
        and after < len(units)
        and len(chosen_ids) < MAX_UNITS
        and _length([units[i] for i in chosen_ids + [after]]) <= limit
    ):
        chosen_ids.append(after)
    return [units[i] for i in sorted(chosen_ids)]


def join_units(units: Sequence[Unit]) -> str:
    """Units back into markdown: sentences run on, a list starts on a line of its own."""
    out = ""
    for unit in units:
        if not out:
            out = unit.text
        elif "\n" in unit.text or _LIST_ITEM.match(unit.text) or "\n" in out.rsplit("\n\n", 1)[-1]:
            out += "\n\n" + unit.text
        else:
            out += " " + unit.text
    return out


def _length(units: Sequence[Unit]) -> int:
    return sum(len(u.text) + 1 for u in units)
