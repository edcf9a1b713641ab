"""The insights dashboard in the console: ``/console/insights`` (the page), ``/console/api/insights``
(its figures as JSON) and ``/console/insights.csv``.

Through the console's own rules (``adviser_page`` / ``adviser_api`` in ``_routes.py``): signed in,
the session not expired; every route here only reads (GET), so there is nothing to forge a CSRF
token for. A supervisor sees the whole service; an adviser sees only the figures of their own cases
(and nothing from the conversations, which are everyone's). The page works without JavaScript:
the charts are SVG drawn here, each with its figures in a table.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Dict, List, Optional, Sequence, Tuple

from aiohttp import web
from markupsafe import Markup, escape

from bot.insights import _figures as figures_of

from ._routes import STORE_KEY, _json_error, adviser_api, adviser_page

logger = logging.getLogger(__name__)
TRACKER_URL_KEY = web.AppKey("insights_tracker_url", str)
DEFAULT_DAYS = 30

# colours on white, each at least 3:1 (WCAG 1.4.11), told apart by the legend's words as well
COLOURS = {"answered": "#0b5e4a", "clarified": "#2f5d9e", "declined": "#b3261e", "other": "#6b5b00",
           "conversations": "#2f5d9e", "handed_over": "#b3261e", "bar": "#0b5e4a"}


def tracker_url(app: web.Application) -> Optional[str]:
    """The tracker store the dashboard reads: set for the app (tests), else the settings'."""
    if TRACKER_URL_KEY in app:
        return app[TRACKER_URL_KEY]
    from bot.web.app import SETTINGS_KEY

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
            since = dt.date.fromisoformat(query["since"][:10]) if query.get("since") else until - dt.timedelta(days=DEFAULT_DAYS - 1)
            return figures_of.Period(since, until), ""
        days = int(query.get("days", DEFAULT_DAYS))
        if not 1 <= days <= 366:
            raise ValueError("days")
        return figures_of.Period.last_days(days), ""
    except (ValueError, OverflowError):
        return figures_of.Period.last_days(DEFAULT_DAYS), \
            "That period could not be read: give two dates (YYYY-MM-DD), at most a year apart. Showing the last 30 days."


async def figures_for(request: web.Request, period: figures_of.Period) -> Dict:
    adviser = request["session"].adviser
    store = request.app[STORE_KEY]
    mine = None if adviser.is_supervisor else adviser.id
    return await asyncio.to_thread(figures_of.compute, period, tracker_url(request.app), store.url,
                                   adviser_id=mine, adviser_name=adviser.name)


@adviser_page
async def insights_page(request: web.Request) -> web.Response:
    from bot.web.app import page_html

    period, problem = period_of(request)
    figures = await figures_for(request, period)
    return page_html(request, "console/insights.html", status=400 if problem else 200, session=request["session"],
                     f=figures, problem=problem, charts=charts(figures), channels=[r["channel"] for r in figures["by_channel"]],
                     by_channel={r["channel"]: r for r in figures["by_channel"]}, depth=lambda k: figures_of.depth(figures, k),
                     percent=figures_of.percent, minutes=figures_of.minutes,
                     csv_query=f"since={period.since.isoformat()}&until={period.until.isoformat()}")


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
    return web.Response(text=figures_of.to_csv(figures), content_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def add_insights(app: web.Application) -> None:
    """The dashboard's routes (before the console's catch-all)."""
    app.router.add_get("/console/insights", insights_page)
    app.router.add_get("/console/api/insights", insights_json)
    app.router.add_get("/console/insights.csv", insights_csv)


# ---- charts: SVG bars, each with a table of the same figures -------------------------------

class Chart:
    def __init__(self, ident: str, title: str, categories: Sequence[str], series: List[Tuple[str, str, str]],
                 rows: Sequence[Dict], stacked: bool = True):
        self.ident, self.title, self.categories, self.series, self.rows = ident, title, categories, series, rows
        self.svg = svg_bars(ident, title, categories, [(label, colour, [r[key] for r in rows])
                                                        for key, label, colour in series], stacked)


def charts(figures: Dict) -> List[Chart]:
    keys = {f["key"] for f in figures["figures"]}
    days = [r["day"][5:] for r in figures["by_day"]]
    out = []
    if "questions" in keys:
        parts = [(k, figures_of.LABELS[k], COLOURS[k]) for k in ("answered", "clarified", "declined", "other")]
        out.append(Chart("questions-by-day", "Questions by day, and what the assistant did", days, parts,
                         figures["by_day"]))
        out.append(Chart("conversations-by-day", "Conversations and handovers by day", days,
                         [("conversations", "Conversations", COLOURS["conversations"]),
                          ("handed_over", "Handed to an adviser", COLOURS["handed_over"])],
                         figures["by_day"], stacked=False))
        out.append(Chart("questions-by-channel", "Questions by channel", [r["channel"] for r in figures["by_channel"]],
                         parts, figures["by_channel"]))
    else:
        out.append(Chart("cases-by-day", "Your cases by day", days,
                         [("handed_over", "Cases", COLOURS["bar"])], figures["by_day"]))
    totals = figures["totals"]
    waits = ["wait_under_5m", "wait_5_30m", "wait_30m_4h", "wait_over_4h", "never_taken"]
    out.append(Chart("waits", "How long people waited for an adviser", [figures_of.LABELS[k] for k in waits],
                     [("n", "Cases", COLOURS["bar"])], [{"n": totals[k]} for k in waits]))
    ends = [k for k in figures_of.PARTS["handed_over"][0]]
    out.append(Chart("outcomes", "How cases ended", [figures_of.LABELS[k] for k in ends],
                     [("n", "Cases", COLOURS["bar"])], [{"n": totals[k]} for k in ends]))
    ratings = [f"rated_{r}" for r in range(1, 6)]
    out.append(Chart("ratings", "Ratings after a handoff", [figures_of.LABELS[k] for k in ratings],
                     [("n", "Ratings", COLOURS["bar"])], [{"n": totals[k]} for k in ratings]))
    return out


def svg_bars(ident: str, title: str, categories: Sequence[str], series: List[Tuple[str, str, List[int]]],
             stacked: bool = True) -> Markup:
    """Vertical bars, one group a category (stacked, or side by side), with axes and a legend; the
    figures are in the table that follows it (``aria-describedby``)."""
    width, height, left, bottom, top = 760, 260, 44, 70, 34
    n = max(1, len(categories))
    heights = [sum(s[2][i] for s in series) if stacked else max((s[2][i] for s in series), default=0) for i in range(n)] \
        if categories else [0]
    peak = max(heights + [1])
    step = _nice_step(peak)
    peak = step * -(-peak // step)
    plot_w, plot_h = width - left - 10, height - top - bottom
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.7 / (1 if stacked else len(series)))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{ident}-title" '
             f'aria-describedby="{ident}-table-caption" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{ident}-title">{escape(title)}</title>']
    for tick in range(0, peak + 1, step):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}</text>')
    every = max(1, -(-n // 16))  # at most 16 labels under the bars
    for i, category in enumerate(categories):
        x0 = left + slot * i + (slot - (bar_w if stacked else bar_w * len(series))) / 2
        base = top + plot_h
        for j, (label, colour, values) in enumerate(series):
            h = plot_h * values[i] / peak
            x = x0 if stacked else x0 + j * bar_w
            y = base - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{escape(category)}: {escape(label)} {values[i]}</title></rect>')
            if stacked:
                base = y
        cx = left + slot * i + slot / 2
        if n <= 8:  # few bars: their names under them, level, on up to two lines
            lines = _wrap(str(category), max(6, int(slot / 6.6)))
            spans = "".join(f'<tspan x="{cx:.1f}" dy="{0 if k == 0 else 13}">{escape(line)}</tspan>'
                            for k, line in enumerate(lines[:2]))
            parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="tick">{spans}</text>')
        elif i % every == 0:
            parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="end" class="tick" '
                         f'transform="rotate(-35 {cx:.1f} {top + plot_h + 14})">{escape(str(category)[:28])}</text>')
    x = left
    for label, colour, _ in series:
        parts.append(f'<rect x="{x}" y="8" width="14" height="14" fill="{colour}"/>'
                     f'<text x="{x + 19}" y="20" class="legend">{escape(label)}</text>')
        x += 30 + 7.2 * len(label)
    parts.append("</svg>")
    return Markup("".join(parts))


def _wrap(text: str, width: int) -> List[str]:
    lines: List[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    return [line if len(line) <= width + 4 else line[:width + 3] + "\u2026" for line in lines] or [""]


def _nice_step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000):
        if peak / step <= 5:
            return step
    return 10 ** len(str(peak))
