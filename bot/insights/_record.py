"""Deciding, at the moment it happens, that a turn was a miss, and recording it (bot/insights/_misses.py).

Called by the custom actions (actions/actions.py, actions/handoff.py) and, for "Did this help? No",
by the Rasa server (bot/rasa_server.py: that reply is a response, not a custom action). Recording
never breaks a turn: any failure is logged and the person's answer goes out as before.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, List, Optional

import numpy as np

from ._misses import MissStore

logger = logging.getLogger(__name__)

# an answer whose score is less than this factor above the threshold is "only just" confident: recorded
LOW_CONFIDENCE_BAND = 1.05
# two questions in a row this close in meaning (cosine) are one question asked again
REPHRASED_SIMILARITY = 0.75  # measured: a restatement 0.83; follow-ups on cost or time 0.51-0.52

_stores: Dict[str, MissStore] = {}
_lock = threading.Lock()


def miss_store(url: Optional[str] = None) -> MissStore:
    """The process's store for ``url`` (default: the settings' handoff store)."""
    if url is None:
        from bot.settings import Settings

        url = Settings.from_env().handoff_store
    with _lock:
        store = _stores.get(url)
        if store is None:
            store = _stores[url] = MissStore(url)
        return store


def use_miss_store(store: Optional[MissStore], url: Optional[str] = None) -> None:
    """Tests: put ``store`` in place of the settings' (``None``: forget it)."""
    if url is None:
        from bot.settings import Settings

        url = Settings.from_env().handoff_store
    with _lock:
        if store is None:
            _stores.pop(url, None)
        else:
            _stores[url] = store


def _safely(what: str, call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except Exception:
        logger.exception("insights: could not record %s", what)
        return None


def answer_kind(answer) -> Optional[str]:
    """``declined``, ``low_confidence`` or ``None`` (not a miss) for a :class:`bot.guidance.Answer`."""
    if not answer.answered:
        return "declined" if answer.reason in ("not_confident", "personal_request") else None
    if answer.reason == "answered" and answer.threshold and answer.score < answer.threshold * LOW_CONFIDENCE_BAND:
        return "low_confidence"
    return None


def guidance_turns(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each answer the assistant gave from the guidance machinery, with the question before it:
    ``{"question", "answer", "guidance"}`` oldest first (``guidance`` is the bot message's metadata)."""
    out, question = [], None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            text = (event.get("text") or "").strip()
            question = None if not text or text.startswith("/") else text
        elif kind == "bot":
            guidance = (event.get("metadata") or {}).get("guidance")
            if isinstance(guidance, dict) and "answered" in guidance and question:
                out.append({"question": question, "answer": event.get("text") or "", "guidance": guidance})
    return out


def _source(guidance: Dict[str, Any]) -> str:
    return str(guidance.get("section") or "")


def record_answer(tracker, answer, desk=None, question: Optional[str] = None) -> None:
    """After ``action_answer_from_guidance`` built ``answer`` for the latest message: record it if
    it was declined or only just answered, and the previous question if this one repeats it in
    other words straight after it was answered."""
    _safely("an answer", _record_answer, tracker, answer, desk, question)


def _record_answer(tracker, answer, desk, question) -> None:
    question = question or (tracker.latest_message or {}).get("text") or ""
    channel = tracker.get_latest_input_channel() or ""
    store = miss_store()
    kind = answer_kind(answer)
    if kind:
        store.record(
            tracker.sender_id,
            kind,
            question,
            channel=channel,
            answer=answer.text,
            source=answer.passage_id or "",
            score=answer.score,
            threshold=answer.threshold,
            reason=answer.reason,
        )
    if desk is None or not question or question.startswith("/"):
        return
    turns = guidance_turns(tracker.events)
    if not turns or not turns[-1]["guidance"].get("answered"):
        return
    before = turns[-1]
    typed = [(e.get("text") or "").strip() for e in tracker.events if e.get("event") == "user"]
    typed = [t for t in typed if t and not t.startswith("/")]
    # straight after: the question answered is the one typed just before this one
    if len(typed) < 2 or typed[-2] != before["question"] or typed[-2].lower() == question.strip().lower():
        return
    vectors = desk.index.embedder.encode([before["question"], question])
    if float(np.dot(vectors[0], vectors[1])) >= REPHRASED_SIMILARITY:
        g = before["guidance"]
        store.record(
            tracker.sender_id,
            "rephrased",
            before["question"],
            channel=channel,
            answer=before["answer"],
            source=_source(g),
            score=g.get("score"),
            threshold=g.get("threshold"),
            reason=g.get("reason", ""),
        )


def record_unhelpful(
    conversation_id: str, events: List[Dict[str, Any]], channel: str = "", store: Optional[MissStore] = None
) -> Optional[int]:
    """The person said the latest answer did not help: record its question and answer."""
    turns = [t for t in guidance_turns(events) if t["guidance"].get("answered")]
    if not turns:
        return None
    turn, store = turns[-1], store or miss_store()
    g = turn["guidance"]
    return _safely(
        "an unhelpful answer",
        store.record,
        conversation_id,
        "unhelpful",
        turn["question"],
        channel=channel,
        answer=turn["answer"],
        source=_source(g),
        score=g.get("score"),
        threshold=g.get("threshold"),
        reason=g.get("reason", ""),
    )


def record_handoff(tracker, case, question: str) -> None:
    """A case was opened: the question handed over is a miss, with the last answer the assistant gave."""

    def run():
        store = miss_store()
        store.attach_case(tracker.sender_id, case.id)
        turns = guidance_turns(tracker.events)
        g = turns[-1]["guidance"] if turns else {}
        store.record(
            tracker.sender_id,
            "handoff",
            question,
            channel=case.channel,
            answer=turns[-1]["answer"] if turns else "",
            source=_source(g),
            score=g.get("score"),
            threshold=g.get("threshold"),
            reason=g.get("reason", ""),
            case_id=case.id,
        )

    _safely("a handoff", run)


def unhelpful_hook(tracker, store_url: str) -> None:
    """In the Rasa server after a message is understood: "Did this help? No" records the answer."""
    intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
    if intent != "feedback_unhelpful":
        return
    events = [e.as_dict() for e in tracker.events]
    record_unhelpful(tracker.sender_id, events, tracker.get_latest_input_channel() or "", miss_store(store_url))
