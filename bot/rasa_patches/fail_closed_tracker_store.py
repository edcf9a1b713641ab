"""Patch: ``rasa.core.tracker_store.FailSafeTrackerStore.on_tracker_store_retrieve_error`` and
``.on_tracker_store_error`` (Rasa's hooks for a failing tracker store), replaced by ones that
log and raise.

Why: when the conversation database fails, Rasa 3.6 logs the error and carries on with an empty
conversation held in memory: history gone, a paused handoff suddenly answered by the bot, and
what is said then never saved. Raising from the hook fails the turn instead (the channel tells
the person we are having trouble); the next turn after the database is back carries on with the
stored conversation. Rasa's ``retrieve``, ``retrieve_full_tracker``, ``save`` and ``keys`` are
untouched and call the hooks from their ``except`` blocks (fingerprinted: if they stop doing so,
this patch must be looked at again).
"""

from __future__ import annotations

import logging

from ._marks import installed, mark

NAME = "fail_closed_tracker_store"
HOW = "replaces Rasa's error hooks"
ATTRIBUTES = [
    "rasa.core.tracker_store:FailSafeTrackerStore.on_tracker_store_retrieve_error",
    "rasa.core.tracker_store:FailSafeTrackerStore.on_tracker_store_error",
]
TARGETS = ATTRIBUTES + [
    "rasa.core.tracker_store:FailSafeTrackerStore.retrieve",
    "rasa.core.tracker_store:FailSafeTrackerStore.retrieve_full_tracker",
    "rasa.core.tracker_store:FailSafeTrackerStore.save",
    "rasa.core.tracker_store:FailSafeTrackerStore.keys",
]
logger = logging.getLogger("bot.rasa_server")


def install() -> None:
    from rasa.core.tracker_store import FailSafeTrackerStore

    for attribute, doing in (("on_tracker_store_retrieve_error", "reading"), ("on_tracker_store_error", "writing")):
        original = getattr(FailSafeTrackerStore, attribute)
        if installed(original, NAME):
            continue

        def fail(self, error, doing=doing):
            logger.error(
                "the conversation database failed %s a conversation (%s); the turn is refused",
                doing,
                error.__class__.__name__,
            )
            raise error

        setattr(FailSafeTrackerStore, attribute, mark(fail, NAME, original))
