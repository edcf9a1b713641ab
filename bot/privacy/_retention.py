"""``mutuals retention``: delete what is older than the retention periods (docs/privacy.md)."""

from __future__ import annotations

import sys
import time

from bot.settings import Settings

from ._erasure import ConversationEraser, RetentionReport


def run_retention(settings: Settings, dry_run: bool = False, clock=time.time) -> RetentionReport:
    """One retention run on the settings' tracker store and handoff store."""
    from bot.handoff import HandoffStore

    store = HandoffStore(settings.handoff_store, clock=clock)
    eraser = ConversationEraser(settings.tracker_store, store, clock=clock)
    try:
        return eraser.retention(settings.conversation_retention_days, settings.case_retention_days, dry_run)
    finally:
        eraser.dispose()
        store.dispose()


def main(settings: Settings, dry_run: bool = False, clock=time.time) -> int:
    try:
        report = run_retention(settings, dry_run, clock)
    except Exception as exc:  # a database that cannot be reached: say so, exit non-zero for cron
        print(f"mutuals retention: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(report.summary(settings.conversation_retention_days, settings.case_retention_days))
    return 0
