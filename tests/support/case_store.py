"""The case store as its tests set it up: a clock they move by hand, and three advisers."""

from __future__ import annotations


class Clock:
    """A clock for HandoffStore(clock=...) that only moves when a test sets ``now``."""

    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


def people(store):
    """Two advisers and a supervisor: ``(ann, bob, sue)``."""
    ann = store.add_adviser("Ann Adviser", "ann@example.org", "adviser", "h1")
    bob = store.add_adviser("Bob Adviser", "bob@example.org", "adviser", "h2")
    sue = store.add_adviser("Sue Supervisor", "sue@example.org", "supervisor", "h3")
    return ann, bob, sue
