"""``mutuals insights``: the dashboard's figures in the terminal (``--json`` for scripts)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--since", type=_date, metavar="YYYY-MM-DD", help="the first day (UTC; default: 30 days before --until)"
    )
    p.add_argument("--until", type=_date, metavar="YYYY-MM-DD", help="the last day, included (default: today, UTC)")
    p.add_argument(
        "--adviser", metavar="EMAIL", help="only this adviser's cases, as the console shows them to an adviser"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (the console's /console/api/insights)")
    p.add_argument("--csv", action="store_true", help="print the console's CSV export")
    p.set_defaults(func=run)


def run(args, settings) -> int:
    from bot.handoff import HandoffStore
    from bot.insights._figures import Period, compute, to_csv, to_text

    until = args.until or dt.datetime.now(dt.timezone.utc).date()
    since = args.since or until - dt.timedelta(days=29)
    try:
        period = Period(since, until)
    except ValueError as exc:
        print(f"mutuals: {exc}", file=sys.stderr)
        return 2
    adviser = None
    if args.adviser:
        store = HandoffStore(settings.handoff_store)
        adviser = next((a for a in store.advisers() if a.email == args.adviser.strip().lower()), None)
        store.dispose()
        if adviser is None:
            print(f"mutuals: there is no adviser {args.adviser}", file=sys.stderr)
            return 2
    figures = compute(
        period,
        settings.tracker_store,
        settings.handoff_store,
        adviser_id=adviser.id if adviser and not adviser.is_supervisor else None,
        adviser_name=adviser.name if adviser else "",
    )
    print(
        json.dumps(figures, indent=2) if args.json else to_csv(figures).rstrip("\n") if args.csv else to_text(figures)
    )
    return 0
