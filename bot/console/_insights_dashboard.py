"""The insights dashboard in the console: ``/console/insights`` (the page), ``/console/api/insights``
(its figures as JSON) and ``/console/insights.csv``.

Through the console's own rules (``adviser_page`` / ``adviser_api`` in ``_routes.py``): signed in,
the session not expired; every route here only reads (GET), so there is nothing to forge a CSRF
token for. A supervisor sees the whole service; an adviser sees only the figures of their own cases
(and nothing from the conversations, which are everyone's). Each chart is a table of its figures
with the same figures as JSON beside it (``<script type="application/json">``), which
bot/web/static/console/insights.js draws with Chart.js (vendored by ``mutuals setup``) on a
``<canvas>``; without JavaScript the tables, open, are the charts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Dict, List, Optional, Sequence, Tuple

from aiohttp import web
from bot.insights import _figures as figures_of
from bot.web.rendering import SETTINGS_KEY, page_html

from ._routes import STORE_KEY, _json_error, adviser_api, adviser_page

logger = logging.getLogger(__name__)
TRACKER_URL_KEY = web.AppKey("insights_tracker_url", str)
DEFAULT_DAYS = 30

# colours on white, each at least 3:1 (WCAG 1.4.11), told apart by the legend's words as well
COLOURS = {
    "answered": "#0b5e4a",
    "clarified": "#2f5d9e",
    "declined": "#b3261e",
    "other": "#6b5b00",
    "conversations": "#2f5d9e",
    "handed_over": "#b3261e",
    "bar": "#0b5e4a",
}


def tracker_url(app: web.Application) -> Optional[str]:
    """The tracker store the dashboard reads: set for the app (tests), else the settings'."""
    if TRACKER_URL_KEY in app:
        return app[TRACKER_URL_KEY]
    settings = app.get(SETTINGS_KEY)
    if settings is None:
        from bot.settings import Settings

        settings = Settings.from_env()
    return settings.tracker_store


def period_of(request: web.Request) -> Tuple[figures_of.Period, str]:
    """The period asked for (``since``, ``until``: YYYY-MM-DD, or ``days``), and what was wrong with
    the request if anything (then the last 30 days)."""
    query = request.query
    try:
        if query.get("since") or query.get("until"):
            today = dt.datetime.now(dt.timezone.utc).date()
            until = dt.date.fromisoformat(query["until"][:10]) if query.get("until") else today
            since = (
                dt.date.fromisoformat(query["since"][:10])
                if query.get("since")
                else until - dt.timedelta(days=DEFAULT_DAYS - 1)
            )
            return figures_of.Period(since, until), ""
        days = int(query.get("days", DEFAULT_DAYS))
        if not 1 <= days <= 366:
            raise ValueError("days")
        return figures_of.Period.last_days(days), ""
    except (ValueError, OverflowError):
        return figures_of.Period.last_days(
            DEFAULT_DAYS
        ), "That period could not be read: give two dates (YYYY-MM-DD), at most a year apart. Showing the last 30 days."


async def figures_for(request: web.Request, period: figures_of.Period) -> Dict:
    adviser = request["session"].adviser
    store = request.app[STORE_KEY]
    mine = None if adviser.is_supervisor else adviser.id
    return await asyncio.to_thread(
        figures_of.compute, period, tracker_url(request.app), store.url, adviser_id=mine, adviser_name=adviser.name
    )


@adviser_page
async def insights_page(request: web.Request) -> web.Response:
    period, problem = period_of(request)
    figures = await figures_for(request, period)
    return page_html(
        request,
        "console/insights.html",
        status=400 if problem else 200,
        session=request["session"],
        f=figures,
        problem=problem,
        charts=charts(figures),
        channels=[r["channel"] for r in figures["by_channel"]],
        by_channel={r["channel"]: r for r in figures["by_channel"]},
        depth=lambda k: figures_of.depth(figures, k),
        percent=figures_of.percent,
        minutes=figures_of.minutes,
        csv_query=f"since={period.since.isoformat()}&until={period.until.isoformat()}",
    )


@adviser_api
async def insights_json(request: web.Request) -> web.Response:
    period, problem = period_of(request)
    if problem:
        return _json_error(400, problem)
    return web.json_response(await figures_for(request, period))


@adviser_page  # a link the browser follows: an expired session goes to the sign-in page
async def insights_csv(request: web.Request) -> web.Response:
    period, problem = period_of(request)
    if problem:
        return _json_error(400, problem)
    figures = await figures_for(request, period)
    name = f"insights-{period.since.isoformat()}-to-{period.until.isoformat()}.csv"
    return web.Response(
        text=figures_of.to_csv(figures),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def add_insights(app: web.Application) -> None:
    """The dashboard's routes (before the console's catch-all)."""
    app.router.add_get("/console/insights", insights_page)
    app.router.add_get("/console/api/insights", insights_json)
    app.router.add_get("/console/insights.csv", insights_csv)


# ---- charts: bars drawn by Chart.js in the browser, each with a table of the same figures ----


class Chart:
    def __init__(
        self,
        ident: str,
        title: str,
        categories: Sequence[str],
        series: List[Tuple[str, str, str]],
        rows: Sequence[Dict],
        stacked: bool = True,
    ):
        self.ident, self.title, self.categories, self.series, self.rows = ident, title, categories, series, rows
        self.stacked = stacked

    @property
    def data(self) -> Dict:
        """What insights.js gives Chart.js: the table's figures, series by series."""
        return {
            "title": self.title,
            "stacked": self.stacked,
            "labels": list(self.categories),
            "datasets": [
                {"label": label, "colour": colour, "data": [r[key] for r in self.rows]}
                for key, label, colour in self.series
            ],
        }


def charts(figures: Dict) -> List[Chart]:
    keys = {f["key"] for f in figures["figures"]}
    days = [r["day"][5:] for r in figures["by_day"]]
    out = []
    if "questions" in keys:
        parts = [(k, figures_of.LABELS[k], COLOURS[k]) for k in ("answered", "clarified", "declined", "other")]
        out.append(
            Chart("questions-by-day", "Questions by day, and what the assistant did", days, parts, figures["by_day"])
        )
        out.append(
            Chart(
                "conversations-by-day",
                "Conversations and handovers by day",
                days,
                [
                    ("conversations", "Conversations", COLOURS["conversations"]),
                    ("handed_over", "Handed to an adviser", COLOURS["handed_over"]),
                ],
                figures["by_day"],
                stacked=False,
            )
        )
        out.append(
            Chart(
                "questions-by-channel",
                "Questions by channel",
                [r["channel"] for r in figures["by_channel"]],
                parts,
                figures["by_channel"],
            )
        )
    else:
        out.append(
            Chart(
                "cases-by-day", "Your cases by day", days, [("handed_over", "Cases", COLOURS["bar"])], figures["by_day"]
            )
        )
    totals = figures["totals"]
    waits = ["wait_under_5m", "wait_5_30m", "wait_30m_4h", "wait_over_4h", "never_taken"]
    out.append(
        Chart(
            "waits",
            "How long people waited for an adviser",
            [figures_of.LABELS[k] for k in waits],
            [("n", "Cases", COLOURS["bar"])],
            [{"n": totals[k]} for k in waits],
        )
    )
    ends = [k for k in figures_of.PARTS["handed_over"][0]]
    out.append(
        Chart(
            "outcomes",
            "How cases ended",
            [figures_of.LABELS[k] for k in ends],
            [("n", "Cases", COLOURS["bar"])],
            [{"n": totals[k]} for k in ends],
        )
    )
    ratings = [f"rated_{r}" for r in range(1, 6)]
    out.append(
        Chart(
            "ratings",
            "Ratings after a handoff",
            [figures_of.LABELS[k] for k in ratings],
            [("n", "Ratings", COLOURS["bar"])],
            [{"n": totals[k]} for k in ratings],
        )
    )
    return out
