"""What the person sees of their handoff while it lasts: the web chat's status line.

The widget (bot/web/static/widget/widget.js, ``handleEvent``) shows an event's ``text`` in the
line under its header and keeps ``status`` in its ``data-handoff`` attribute: ``waiting`` (in the
queue), ``adviser`` (an adviser has the case) or ``assistant`` (no case: the line is hidden).
Events go only to the web chat: the REST channel and Telegram have no status line.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

HANDOFF_EVENT = "handoff"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd, 101st ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def place_in_queue(position: int) -> str:
    """How the person's place reads in a sentence: "next", "2nd", "3rd"."""
    return "next" if position <= 1 else ordinal(position)


def waiting_event(position: int) -> Dict[str, Any]:
    return {
        "type": HANDOFF_EVENT,
        "status": "waiting",
        "text": f"Waiting for an adviser \u00b7 {place_in_queue(position)} in the queue",
    }


def adviser_event(name: str) -> Dict[str, Any]:
    return {
        "type": HANDOFF_EVENT,
        "status": "adviser",
        "adviser": name,
        "text": f"Chatting with {name}" if name else "Chatting with an adviser",
    }


def ended_event() -> Dict[str, Any]:
    """Back with the assistant: the widget hides the line (an empty ``text``)."""
    return {"type": HANDOFF_EVENT, "status": "assistant", "text": ""}


def status_event(store, conversation_id: str) -> Optional[Dict[str, Any]]:
    """The status line for the conversation's open case now (``None``: it has none)."""
    case = store.open_case_for(conversation_id)
    if case is None:
        return None
    if case.status == "waiting":
        return waiting_event(store.queue_position(case))
    adviser = store.adviser(case.adviser_id) if case.adviser_id else None
    return adviser_event(adviser.name if adviser else "")
