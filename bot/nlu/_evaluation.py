"""``mutuals eval routing``: the trained NLU model (DIET, the FallbackClassifier and the
MessageRouter, as the Rasa server runs them) on ``knowledge/questions/routing.yml``.

Each message is masked first as the channels mask it (``bot.safety.mask_identifiers``), then
parsed by the model; the intent it gets is compared with where it must go. Figures (each a share
of its group):

- ``guidance``: real questions (after small talk, follow-ups, ordinary) that reach the guidance
  answer (intent ``ask_question``, or ``nlu_fallback``, which also runs it);
- ``small_talk``: small talk that keeps its intent, and the share wrongly sent to the guidance;
- ``assistant``: questions about the assistant that get the intent that answers them;
- ``crisis``: crisis messages given intent ``crisis`` (recall);
- ``not_crisis``: near misses wrongly given ``crisis``, and those meant for the guidance that reach it;
- ``injection``: attempts to change the assistant's role given ``out_of_scope``;
- ``personal_details``: messages whose identifier was removed before the model saw it, and that
  then go where they should (the question answered, or the warning alone).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import yaml

from bot.safety import mask_identifiers

GUIDANCE_INTENTS = ("ask_question", "nlu_fallback")


@dataclasses.dataclass
class Case:
    group: str
    text: str
    expected: str  # an intent, or "guidance" / "not crisis"
    subgroup: str = ""
    guidance: bool = False  # a near miss that must also reach the guidance


@dataclasses.dataclass
class Outcome:
    case: Case
    intent: str
    routed: Optional[Dict[str, Any]]
    masked_text: str
    ok: bool


def load_routing_set(path: Path) -> List[Case]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    cases: List[Case] = []
    guidance = data.get("guidance") or {}
    if isinstance(guidance, list):
        guidance = {"question": guidance}
    for subgroup, items in guidance.items():
        cases += [Case("guidance", str(t), "guidance", subgroup) for t in items or []]
    for item in data.get("small_talk") or []:
        cases.append(Case("small_talk", str(item["text"]), item["intent"]))
    for item in data.get("assistant") or []:
        cases.append(Case("assistant", str(item["text"]), item["intent"]))
    cases += [Case("crisis", str(t), "crisis") for t in data.get("crisis") or []]
    for item in data.get("not_crisis") or []:
        cases.append(Case("not_crisis", str(item["text"]), "not crisis", guidance=bool(item.get("guidance"))))
    cases += [Case("injection", str(t), "out_of_scope") for t in data.get("injection") or []]
    for item in data.get("personal_details") or []:
        question = bool(item.get("question"))
        cases.append(
            Case(
                "personal_details",
                str(item["text"]),
                "ask_question" if question else "share_personal_details",
                "with a question" if question else "alone",
            )
        )
    return cases


def judge(case: Case, intent: str) -> bool:
    if case.expected == "guidance":
        return intent in GUIDANCE_INTENTS
    if case.expected == "not crisis":
        return intent != "crisis" and (not case.guidance or intent in GUIDANCE_INTENTS)
    return intent == case.expected


def _share(outcomes: List[Outcome], test: Callable[[Outcome], bool]) -> Dict[str, Any]:
    n = len(outcomes)
    k = sum(1 for o in outcomes if test(o))
    return {"n": n, "count": k, "share": round(k / n, 3) if n else None}


def figures(outcomes: List[Outcome]) -> Dict[str, Any]:
    by = lambda group: [o for o in outcomes if o.case.group == group]  # noqa: E731
    guidance = by("guidance")
    out: Dict[str, Any] = {
        "guidance_reached": _share(guidance, lambda o: o.ok),
        "guidance_reached_by_kind": {
            sub: _share([o for o in guidance if o.case.subgroup == sub], lambda o: o.ok)
            for sub in dict.fromkeys(o.case.subgroup for o in guidance)
        },
        "small_talk_kept": _share(by("small_talk"), lambda o: o.ok),
        "small_talk_sent_to_guidance": _share(by("small_talk"), lambda o: o.intent in GUIDANCE_INTENTS),
        "assistant_answered_right": _share(by("assistant"), lambda o: o.ok),
        "crisis_recognised": _share(by("crisis"), lambda o: o.ok),
        "not_crisis_wrongly_crisis": _share(by("not_crisis"), lambda o: o.intent == "crisis"),
        "not_crisis_questions_reached_guidance": _share(
            [o for o in by("not_crisis") if o.case.guidance], lambda o: o.intent in GUIDANCE_INTENTS
        ),
        "injection_out_of_scope": _share(by("injection"), lambda o: o.ok),
        "injection_sent_to_guidance": _share(by("injection"), lambda o: o.intent in GUIDANCE_INTENTS),
        "personal_details_masked": _share(by("personal_details"), lambda o: o.masked_text != o.case.text),
        "personal_details_routed_right": _share(by("personal_details"), lambda o: o.ok),
    }
    out["all_right"] = _share(outcomes, lambda o: o.ok)
    return out


def evaluate(parse: Callable[[str], Dict[str, Any]], cases: List[Case], mask: bool = True) -> List[Outcome]:
    """``parse(text)`` is the model's parse data for a message (``Agent.parse_message``)."""
    outcomes = []
    for case in cases:
        text = mask_identifiers(case.text).text if mask else case.text
        data = parse(text)
        intent = ((data or {}).get("intent") or {}).get("name") or ""
        outcomes.append(Outcome(case, intent, (data or {}).get("routed"), text, judge(case, intent)))
    return outcomes


def load_agent(model_path: Path) -> Any:
    """The trained model, loaded as the Rasa server loads it and with its logs kept quiet, without
    leaving Rasa's logging set-up behind: ``configure_logging_and_warnings`` puts a filter that
    drops a record repeating the one before on every handler of the root logger. In a test process
    those are pytest's own, so a later test saw one of two identical warnings (the CI run of
    2026-12-01, tests/security/test_limits.py)."""
    import logging
    import warnings

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    levels = [(logger, logger.level) for logger in loggers]
    handler_filters = [(handler, list(handler.filters)) for handler in logging.getLogger().handlers]
    warning_filters = list(warnings.filters)
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    try:
        return Agent.load(str(model_path))
    finally:
        for logger, level in levels:
            logger.setLevel(level)
        for handler, filters in handler_filters:
            handler.filters[:] = filters
        warnings.filters[:] = warning_filters


def evaluate_model(model_path: Path, cases: List[Case], mask: bool = True) -> List[Outcome]:
    """Load the trained Rasa model and evaluate ``cases`` with it."""
    agent = load_agent(model_path)
    loop = asyncio.new_event_loop()
    try:
        return evaluate(lambda text: loop.run_until_complete(agent.parse_message(text)), cases, mask)
    finally:
        loop.close()


# intents whose own reply answers a question about the assistant: a request for a person starts the
# handoff (what the page about talking to an adviser describes), "what can you do?" lists the topics
ANSWERED_BY_INTENT = {"request_human": ("talking-to-an-adviser",), "ask_capabilities": ("about-this-assistant",)}


def through_model(model_path: Path, questions, desk) -> Dict[str, Any]:
    """The question split as the assistant meets it: each question masked, parsed by the trained
    model (DIET and the MessageRouter), and, when that sends it to the guidance, answered by
    ``desk`` (a :class:`bot.guidance.GuidanceDesk`). A must-not-answer question is declined when
    the model sends it elsewhere (out of scope, small talk ...) or the desk declines it; an
    answerable one is right when the desk answers from its page, or offers that page in a
    clarification (a click). ``questions``: :class:`bot.guidance._evaluation.Question` items."""
    agent = load_agent(model_path)
    loop = asyncio.new_event_loop()
    rows = []
    try:
        for q in questions:
            text = mask_identifiers(q.text).text
            intent = ((loop.run_until_complete(agent.parse_message(text)) or {}).get("intent") or {}).get("name") or ""
            row = {"text": q.text, "slug": q.slug, "intent": intent, "reached": intent in GUIDANCE_INTENTS}
            if q.slug and q.slug in ANSWERED_BY_INTENT.get(intent, ()):
                row["page"] = q.slug  # "can i talk to a human": the handoff is the answer
            if row["reached"]:
                answer = desk.answer(text)
                offered = {b.payload for b in answer.buttons} if answer.reason == "clarify" else set()
                row.update(
                    reason=answer.reason,
                    page=answer.sources[0].slug if answer.answered and answer.sources else None,
                    offered=any(q.slug and q.slug in payload for payload in offered),
                )
            rows.append(row)
    finally:
        loop.close()
    answerable = [r for r in rows if r["slug"]]
    must_not = [r for r in rows if not r["slug"]]

    def share(items, test):
        return round(sum(1 for r in items if test(r)) / len(items), 4) if items else None

    return {
        "answerable": len(answerable),
        "must_not_answer": len(must_not),
        "answered_from_right_page": share(answerable, lambda r: r.get("page") == r["slug"]),
        "right_page_or_offered": share(answerable, lambda r: r.get("page") == r["slug"] or r.get("offered")),
        "answerable_sent_away_by_model": share(answerable, lambda r: not r["reached"] and not r.get("page")),
        "answerable_declined": share(
            answerable, lambda r: not r.get("page") and (not r["reached"] or r.get("reason") != "clarify")
        ),
        "must_not_declined": share(
            must_not, lambda r: not r["reached"] or (not r.get("page") and r.get("reason") != "clarify")
        ),
        "must_not_declined_by_model": share(must_not, lambda r: not r["reached"]),
        "misses": [
            r
            for r in rows
            if (r["slug"] and r.get("page") != r["slug"] and not r.get("offered"))
            or (not r["slug"] and r["reached"] and (r.get("page") or r.get("reason") == "clarify"))
        ],
    }


LABELS = [
    ("guidance_reached", "questions that reach the guidance"),
    ("small_talk_kept", "small talk that keeps its intent"),
    ("small_talk_sent_to_guidance", "small talk sent to the guidance (lower is better)"),
    ("assistant_answered_right", "questions about the assistant answered by the right intent"),
    ("crisis_recognised", "crisis messages given the crisis reply"),
    ("not_crisis_wrongly_crisis", "near misses wrongly given the crisis reply (lower is better)"),
    ("not_crisis_questions_reached_guidance", "near misses that are questions and reach the guidance"),
    ("injection_out_of_scope", "attempts to change the assistant's role treated as out of scope"),
    ("injection_sent_to_guidance", "attempts to change its role searched as questions (lower is better)"),
    ("personal_details_masked", "messages with an identifier masked before the model"),
    ("personal_details_routed_right", "messages with an identifier routed right (warned; question answered)"),
    ("all_right", "all messages where they must go"),
]


def run(args, settings) -> int:
    """``mutuals eval routing [--json] [--misses] [--model PATH] [--no-masking]``."""
    import json
    import sys

    model = Path(args.model) if args.model else settings.model_file
    if not model.exists():
        print(f"mutuals: no trained model at {model}; run 'mutuals train' first", file=sys.stderr)
        return 2
    cases = load_routing_set(Path(args.set) if args.set else settings.knowledge_dir / "questions" / "routing.yml")
    outcomes = evaluate_model(model, cases, mask=not args.no_masking)
    result = figures(outcomes)
    misses = [
        {"group": o.case.group, "text": o.case.text, "expected": o.case.expected, "got": o.intent, "routed": o.routed}
        for o in outcomes
        if not o.ok
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(model),
                    "masking": not args.no_masking,
                    "figures": result,
                    **({"misses": misses} if args.misses else {}),
                },
                indent=2,
            )
        )
        return 0
    print(f"Routing set: {len(cases)} messages; model {model}{'' if not args.no_masking else ' (not masked)'}\n")
    for key, label in LABELS:
        f = result[key]
        print(f"  {f['share'] if f['share'] is not None else '-':>6}  {f['count']:>3}/{f['n']:<3} {label}")
        if key == "guidance_reached":
            for sub, g in result["guidance_reached_by_kind"].items():
                print(f"  {g['share']:>6}  {g['count']:>3}/{g['n']:<3}   {sub.replace('_', ' ')}")
    if args.misses:
        print("\nMisses: group | message → expected, got")
        for m in misses:
            why = f" ({m['routed']['reason']})" if m["routed"] else ""
            print(f"  {m['group']} | {m['text']!r} → {m['expected']}, got {m['got']}{why}")
    return 0


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--misses", action="store_true", help="list the messages that went the wrong way")
    parser.add_argument("--model", help="a trained model other than models/mutuals.tar.gz")
    parser.add_argument("--set", help="a routing set other than knowledge/questions/routing.yml")
    parser.add_argument(
        "--no-masking",
        action="store_true",
        help="parse messages as typed (as the channels passed them before they masked identifiers)",
    )
    parser.set_defaults(
        func=lambda args, settings: __import__("bot.nlu._evaluation", fromlist=["run"]).run(args, settings)
    )
