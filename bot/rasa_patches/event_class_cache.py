"""Patch: ``rasa.shared.core.events.Event.resolve_by_type`` (public static method), wrapped.

Why: Rasa finds an event's class by its name by listing every subclass of ``Event`` again, for
each event of a conversation it reads: about a tenth of a turn. The class found for each name is
remembered; a name not found yet still goes Rasa's way.
"""

from __future__ import annotations

from ._marks import installed, mark

NAME = "event_class_cache"
HOW = "wraps"
ATTRIBUTES = ["rasa.shared.core.events:Event.resolve_by_type"]
TARGETS = ATTRIBUTES


def install() -> None:
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    if installed(original, NAME):
        return
    found = {}

    def resolve_by_type(type_name, default=None):
        cls = found.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            if cls is not None and cls is not default and getattr(cls, "type_name", None) == type_name:
                found[type_name] = cls
        return cls

    Event.resolve_by_type = staticmethod(mark(resolve_by_type, NAME, original))
