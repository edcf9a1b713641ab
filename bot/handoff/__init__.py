"""Handing a conversation to a human adviser: cases, advisers, hours and the adviser's desk."""

from ._desk import BACK_WITH_ASSISTANT, AdviserDesk, RasaUnavailable, rating_buttons, transcript_from_events
from ._hours import AdviserHours
from ._status import adviser_event, ended_event, ordinal, place_in_queue, status_event, waiting_event
from ._store import OUTCOMES, ROLES, Adviser, Case, HandoffError, HandoffStore, Session

__all__ = [
    "BACK_WITH_ASSISTANT",
    "OUTCOMES",
    "ROLES",
    "Adviser",
    "AdviserDesk",
    "AdviserHours",
    "Case",
    "HandoffError",
    "HandoffStore",
    "RasaUnavailable",
    "Session",
    "adviser_event",
    "ended_event",
    "ordinal",
    "place_in_queue",
    "rating_buttons",
    "status_event",
    "transcript_from_events",
    "waiting_event",
]
