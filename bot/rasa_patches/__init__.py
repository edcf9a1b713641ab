"""Everything the project changes in Rasa 3.6.21 and python-socketio 5.9.0, one module a patch.

Each module says what it patches, how (``HOW``: wraps, replaces, subclasses) and why; its
``install()`` (where it has one) is idempotent: installing again changes nothing. ``TARGETS``
names every Rasa or socketio function the patch changes or relies on; tests/test_rasa_patches.py
compares the sha256 of their source with ``fingerprints.json`` and names the patch to review
when one changes (after reviewing: ``python -m bot.rasa_patches._fingerprints --write``).
The table of patches is in docs/architecture.md.

:func:`install_all` is what ``bot.rasa_server`` calls before Rasa starts. It refuses, saying
so, to install on any other Rasa or python-socketio than the pinned ones (``PINNED``, the same
as pyproject.toml's).
"""

from __future__ import annotations

from importlib import metadata

from . import (
    action_failure_reply,
    action_keep_alive,
    event_class_cache,
    fail_closed_tracker_store,
    checked_turns,
    fast_action_validation,
    patient_tickets,
    socketio_queue,
    sql_tracker_queries,
    unhelpful_recording,
)

PINNED = {"rasa": "3.6.21", "python-socketio": "5.9.0"}

# in the order install_all installs them; the last two are applied where they are used
PATCHES = [
    fast_action_validation,
    event_class_cache,
    action_keep_alive,
    fail_closed_tracker_store,
    checked_turns,
    patient_tickets,
    action_failure_reply,
    unhelpful_recording,
    sql_tracker_queries,
    socketio_queue,
]


class UnsupportedVersion(RuntimeError):
    """Rasa or python-socketio is not the version the patches were written and checked for."""


def installed_versions() -> dict:
    versions = {}
    for package in PINNED:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    import rasa

    versions["rasa"] = getattr(rasa, "__version__", versions["rasa"])
    return versions


def check_versions() -> None:
    """Raise :class:`UnsupportedVersion`, saying what is installed and what is pinned, unless
    the installed Rasa and python-socketio are the pinned ones."""
    found = installed_versions()
    wrong = [
        f"{package} {found[package] or '(not installed)'} (pinned: {pinned})"
        for package, pinned in PINNED.items()
        if found[package] != pinned
    ]
    if wrong:
        raise UnsupportedVersion(
            "bot.rasa_patches changes Rasa's and python-socketio's internals and is written for "
            + " and ".join(f"{p} {v}" for p, v in PINNED.items())
            + "; installed: "
            + ", ".join(wrong)
            + ". Install the pinned versions (requirements.lock), or review every patch in "
            "bot/rasa_patches/ (docs/architecture.md) against the new version before changing the pin."
        )


def install_all(action_timeout_seconds: float, handoff_store_url: str) -> None:
    """Install every patch that changes Rasa globally (idempotent), after checking the versions.
    ``handoff_store_url``: where the unhelpful answers are recorded (bot/insights/)."""
    check_versions()
    fast_action_validation.install()
    event_class_cache.install()
    action_keep_alive.install()
    fail_closed_tracker_store.install()
    checked_turns.install()
    patient_tickets.install()
    action_failure_reply.install(action_timeout_seconds)
    unhelpful_recording.install(handoff_store_url)


__all__ = ["PATCHES", "PINNED", "UnsupportedVersion", "check_versions", "install_all", "installed_versions"]
