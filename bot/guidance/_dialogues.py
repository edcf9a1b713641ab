"""`mutuals eval dialogue`: answers measured as conversations, not single questions.

``knowledge/questions/dialogues*.yml`` hold short conversations: ``dialogues.yml`` the tune and
held-out splits; ``dialogues-blind-2026-12b.yml`` the ``blind`` split, written from the pages
only after everything was tuned and run once, then used to choose the page bonus;
``dialogues-blind-2026-12c.yml`` ``blind2``, written the same way after that, and
``dialogues-blind-2026-12d.yml`` to ``-12g.yml`` ``blind3`` to ``blind6``, written in the next
session, and ``-12h.yml`` to ``-12j.yml`` ``blind7`` to ``blind9`` in the one after, each to be
run once. Each
turn is labelled with the page (and section) that answers it, or ``expect: must_not_answer`` /
``expect: chitchat``, and a turn that only makes sense after the earlier ones is marked
``followup: true``. Each
conversation is replayed through :class:`GuidanceDesk` as the action server runs it (the context
each answer leaves is what the next turn gets; a clarification is answered by picking the
labelled page when it is offered, which counts as a click), and every turn is also asked alone,
with no context. A turn is right when the reply answers from the labelled page (or declines a
must-not-answer turn). Chit-chat turns are the NLU's business (``mutuals eval routing``): they
are counted, skipped here, and the context passes over them as it does in the assistant.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import yaml

from ._answer import Answer, GuidanceDesk
from ._context import Context, ContextRules


@dataclasses.dataclass(frozen=True)
class Turn:
    text: str
    slug: Optional[str] = None
    section: Optional[str] = None
    expect: str = "answer"  # answer | must_not_answer | chitchat
    followup: bool = False


@dataclasses.dataclass(frozen=True)
class Dialogue:
    id: str
    split: str
    turns: Sequence[Turn]


def load_dialogues(path: Path) -> List[Dialogue]:
    """The dialogues of one file, or of every ``dialogues*.yml`` in a folder."""
    path = Path(path)
    if path.is_dir():
        return [d for p in sorted(path.glob("dialogues*.yml")) for d in load_dialogues(p)]
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for item in data.get("dialogues") or []:
        turns = []
        for t in item["turns"]:
            expect = t.get("expect") or ("answer" if t.get("slug") else "must_not_answer")
            turns.append(Turn(str(t["q"]), t.get("slug"), t.get("section"), expect, bool(t.get("followup"))))
        out.append(Dialogue(str(item["id"]), str(item.get("split", "tune")), tuple(turns)))
    return out


@dataclasses.dataclass
class TurnResult:
    dialogue: str
    turn: Turn
    in_context: Answer
    alone: Answer
    right_in_context: bool
    right_alone: bool
    clicks: int  # clarification picks it took in context


def _right(turn: Turn, answer: Answer) -> bool:
    if turn.expect == "must_not_answer":
        return not answer.answered
    return answer.answered and bool(answer.sources) and answer.sources[0].slug == turn.slug


def _resolve(desk: GuidanceDesk, turn: Turn, answer: Answer) -> tuple:
    """A clarification that offers the labelled page is answered by picking it, as a person would."""
    if answer.reason != "clarify" or turn.expect != "answer":
        return answer, 0
    for button in answer.buttons:
        picked = button.payload.partition('"guidance_slug":"')[2].partition('"')[0]
        if picked.partition("#")[0] == turn.slug:
            return desk.answer_topic(picked, focus_on=answer.context.question if answer.context else None), 1
    return answer, 0


def replay(desk: GuidanceDesk, dialogues: Iterable[Dialogue]) -> List[TurnResult]:
    results = []
    for dialogue in dialogues:
        context: Optional[Context] = None
        for turn in dialogue.turns:
            if turn.expect == "chitchat":
                continue
            answer, clicks = _resolve(desk, turn, desk.answer(turn.text, context))
            alone, _ = _resolve(desk, turn, desk.answer(turn.text))
            context = answer.context
            results.append(
                TurnResult(dialogue.id, turn, answer, alone, _right(turn, answer), _right(turn, alone), clicks)
            )
    return results


def _rate(rows: Sequence[TurnResult], attr: str) -> Optional[float]:
    return round(sum(getattr(r, attr) for r in rows) / len(rows), 4) if rows else None


def summarise(results: Sequence[TurnResult], dialogues: Sequence[Dialogue]) -> Dict[str, object]:
    followups = [r for r in results if r.turn.followup and r.turn.expect == "answer"]
    fresh = [r for r in results if not r.turn.followup and r.turn.expect == "answer"]
    must_not = [r for r in results if r.turn.expect == "must_not_answer"]
    section_rows = [r for r in followups if r.turn.section]
    return {
        "dialogues": len(dialogues),
        "chitchat_turns_skipped": sum(1 for d in dialogues for t in d.turns if t.expect == "chitchat"),
        "followup": {
            "turns": len(followups),
            "in_context": _rate(followups, "right_in_context"),
            "alone": _rate(followups, "right_alone"),
            "right_section_in_context": round(
                sum(r.in_context.passage_id == f"{r.turn.slug}#{r.turn.section}" for r in section_rows)
                / len(section_rows),
                4,
            )
            if section_rows
            else None,
        },
        "first_or_new_topic": {
            "turns": len(fresh),
            "in_context": _rate(fresh, "right_in_context"),
            "alone": _rate(fresh, "right_alone"),
        },
        "must_not_answer": {
            "turns": len(must_not),
            "declined_in_context": _rate(must_not, "right_in_context"),
            "declined_alone": _rate(must_not, "right_alone"),
        },
        "clarifications_in_context": sum(1 for r in results if r.clicks),
        "wrong_in_context_right_alone": sum(1 for r in results if r.right_alone and not r.right_in_context),
    }


def evaluate(desk: GuidanceDesk, dialogues: Sequence[Dialogue]) -> Dict[str, object]:
    return summarise(replay(desk, dialogues), dialogues)


GRID = {
    "weight": (0.5, 1.0, 2.0),
    "threshold": (0.5, 0.6, 0.65, 0.7, 0.8),
    "own_share": (0.0, 0.1, 0.2),
    "own_share_without_cue": (0.3, 0.4, 0.5),
}


def tune(desk: GuidanceDesk, dialogues: Sequence[Dialogue]) -> List[Dict[str, object]]:
    """Every setting of the grid on ``dialogues``, best first: most turns right in context, then
    fewest must-not-answer turns answered, then the defaults' neighbourhood (smaller weight)."""
    rows: List[Dict[str, Any]] = []
    original = desk.context_rules
    try:
        for values in itertools.product(*GRID.values()):
            rules = ContextRules(**dict(zip(GRID, values)))
            desk.context_rules = rules
            results = replay(desk, dialogues)
            right = sum(r.right_in_context for r in results)
            must_not = [r for r in results if r.turn.expect == "must_not_answer"]
            rows.append(
                {
                    "rules": dataclasses.asdict(rules),
                    "right": right,
                    "turns": len(results),
                    "must_not_declined": sum(r.right_in_context for r in must_not),
                    "worse_than_alone": sum(1 for r in results if r.right_alone and not r.right_in_context),
                }
            )
    finally:
        desk.context_rules = original
    rows.sort(key=lambda r: (-r["right"], r["worse_than_alone"], r["rules"]["weight"]))
    return rows
