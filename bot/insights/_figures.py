"""The dashboard's figures, computed with aggregate SQL from what the service stores.

Two databases: Rasa's tracker store (table ``events``: one row per event, with ``type_name``,
``intent_name``, ``action_name``, ``timestamp`` and the event as JSON in ``data``) and the handoff
store (tables ``cases`` and ``misses``). Every figure is a count of rows a query groups by day and
channel, never events loaded into Python; the only values read one by one are the waits of the cases
(one number a case) for their median. The events are counted through a digest kept beside them
(``insights_digest``, ``insights_messages``; see ``update_digest``), so that a month of a busy
service loads in well under 2 seconds.

Where an answer's reason is kept: ``actions/actions.py`` sends every reply from the guidance with
``guidance={"reason": ..., ...}``, which Rasa keeps as the bot event's ``metadata.guidance``. The
reasons are those of ``bot/guidance/_answer.py``.

Days are UTC days. The parts of each whole add up to it exactly, by construction (see ``PARTS``),
and ``check_parts`` says where they would not.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
import time
from typing import Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa

ANSWER_ACTION = "action_answer_from_guidance"
FEEDBACK_INTENTS = {"feedback_helpful": "feedback_helpful", "feedback_unhelpful": "feedback_unhelpful"}
UNKNOWN_CHANNEL = "unknown"

# an answer's reason (bot/guidance/_answer.py) -> the figure it counts in
REASONS = {
    "answered": "answered_alone",
    "answered_in_context": "answered_in_context",
    "more": "answered_more",
    "clarify": "clarified",
    "not_confident": "declined_not_confident",
    "outside_guidance": "declined_outside_guidance",
    "personal_request": "declined_personal_request",
    "empty": "declined_unreadable",
    "too_long": "declined_unreadable",
    "no_words": "declined_unreadable",
    "not_english": "declined_unreadable",
    "nothing_to_expand": "other_nothing_to_expand",
}
OTHER_REASON = "other_unknown_reason"  # a reason this code does not know (a newer release's)

# (figure, label, definition); the order is the order shown
FIGURES: List[Tuple[str, str, str]] = [
    (
        "conversations",
        "Conversations",
        "conversation ids in which the person wrote at least one message in the period; each counted once, on the "
        "day of its first message in the period; a conversation's channel (for every figure from the conversations) "
        "is the one its first message came in on",
    ),
    (
        "questions",
        "Questions",
        "messages the assistant tried to answer from the guidance: each run of action_answer_from_guidance "
        "(a typed question, a topic button, or \u201cTell me more\u201d)",
    ),
    ("answered", "Answered from guidance", "questions answered with a guidance section and its source link"),
    ("answered_alone", "a question on its own", "reason \u201canswered\u201d"),
    (
        "answered_in_context",
        "a follow-up, in the context of the question before",
        "reason \u201canswered_in_context\u201d",
    ),
    ("answered_more", "\u201cTell me more\u201d", "reason \u201cmore\u201d: the whole section after an answer"),
    (
        "clarified",
        "Clarification asked",
        "reason \u201cclarify\u201d: two sections equally close, the person asked which",
    ),
    ("declined", "Declined", "questions the assistant did not answer, offering an adviser"),
    ("declined_not_confident", "no section close enough", "reason \u201cnot_confident\u201d"),
    (
        "declined_outside_guidance",
        "outside what the guidance covers, with a signpost",
        "reason \u201coutside_guidance\u201d",
    ),
    ("declined_personal_request", "a request guidance cannot meet", "reason \u201cpersonal_request\u201d"),
    (
        "declined_unreadable",
        "a message it could not read",
        "reasons \u201cempty\u201d, \u201ctoo_long\u201d, \u201cno_words\u201d, \u201cnot_english\u201d",
    ),
    ("other", "Other", "questions neither answered, clarified nor declined with a recorded reason"),
    (
        "other_nothing_to_expand",
        "\u201cTell me more\u201d with nothing answered yet",
        "reason \u201cnothing_to_expand\u201d",
    ),
    (
        "other_no_reply",
        "no guidance reply recorded",
        "runs with no reply carrying a reason: the second miss in a row, passed straight to an adviser, or a failed run",
    ),
    ("other_unknown_reason", "a reason this dashboard does not know", "any other reason"),
    (
        "feedback",
        "Answer feedback",
        "\u201cDid this help?\u201d answered (intents feedback_helpful and feedback_unhelpful)",
    ),
    ("feedback_helpful", "Yes, it helped", "intent feedback_helpful"),
    ("feedback_unhelpful", "No, it didn't", "intent feedback_unhelpful"),
    (
        "misses",
        "Misses recorded",
        "questions recorded for the knowledge-gap list (bot/insights/_misses.py), on the "
        "day and channel they were asked; one question may be recorded more than once, once for each way it missed",
    ),
    ("miss_declined", "declined", "kind \u201cdeclined\u201d"),
    ("miss_low_confidence", "answered with low confidence", "kind \u201clow_confidence\u201d"),
    ("miss_rephrased", "asked again in other words", "kind \u201crephrased\u201d"),
    ("miss_unhelpful", "rated unhelpful", "kind \u201cunhelpful\u201d"),
    ("miss_handoff", "handed to an adviser", "kind \u201chandoff\u201d"),
    (
        "handed_over",
        "Handed to an adviser",
        "cases opened in the period (handoff store), on the channel they came from",
    ),
    ("outcome_answered", "closed: answered", "closed by an adviser with the outcome \u201canswered\u201d"),
    ("outcome_referred", "closed: referred elsewhere", "outcome \u201creferred\u201d"),
    ("outcome_no_response", "closed: no response from the person", "outcome \u201cno_response\u201d"),
    ("outcome_out_of_scope", "closed: out of scope", "outcome \u201cout_of_scope\u201d"),
    ("outcome_cancelled", "cancelled", "outcome \u201ccancelled\u201d: the person went back to the assistant"),
    ("still_waiting", "still waiting", "not yet taken by an adviser"),
    ("still_open", "still with an adviser", "taken, not yet closed"),
    ("wait_under_5m", "taken within 5 minutes", "claimed (or assigned) less than 5 minutes after it opened"),
    ("wait_5_30m", "taken in 5 to 30 minutes", "5 minutes or more, less than 30"),
    ("wait_30m_4h", "taken in 30 minutes to 4 hours", "30 minutes or more, less than 4 hours"),
    ("wait_over_4h", "taken after 4 hours or more", "4 hours or more"),
    ("never_taken", "never taken by an adviser", "still waiting, or closed (cancelled) before an adviser took it"),
    ("rated", "Rated after the handoff", "cases the person rated 1 to 5 when it closed"),
    ("rated_1", "1 (poor)", "rating 1"),
    ("rated_2", "2", "rating 2"),
    ("rated_3", "3", "rating 3"),
    ("rated_4", "4", "rating 4"),
    ("rated_5", "5 (very good)", "rating 5"),
]
KEYS = [k for k, _, _ in FIGURES]
LABELS = {k: label for k, label, _ in FIGURES}
DEFINITIONS = {k: d for k, _, d in FIGURES}

# whole -> its parts, which add up to it exactly (handed_over is split two ways: outcome and wait)
PARTS: Dict[str, List[List[str]]] = {
    "questions": [["answered", "clarified", "declined", "other"]],
    "answered": [["answered_alone", "answered_in_context", "answered_more"]],
    "declined": [
        ["declined_not_confident", "declined_outside_guidance", "declined_personal_request", "declined_unreadable"]
    ],
    "other": [["other_nothing_to_expand", "other_no_reply", "other_unknown_reason"]],
    "feedback": [["feedback_helpful", "feedback_unhelpful"]],
    "handed_over": [
        [
            "outcome_answered",
            "outcome_referred",
            "outcome_no_response",
            "outcome_out_of_scope",
            "outcome_cancelled",
            "still_waiting",
            "still_open",
        ],
        ["wait_under_5m", "wait_5_30m", "wait_30m_4h", "wait_over_4h", "never_taken"],
    ],
    "misses": [["miss_declined", "miss_low_confidence", "miss_rephrased", "miss_unhelpful", "miss_handoff"]],
    "rated": [["rated_1", "rated_2", "rated_3", "rated_4", "rated_5"]],
}
TRACKER_KEYS = KEYS[: KEYS.index("handed_over")]  # what only the tracker store knows (supervisors only)
CASE_KEYS = KEYS[KEYS.index("handed_over") :]
PARENT = {part: whole for whole, splits in PARTS.items() for split in splits[:1] for part in split}
PARENT.update({part: "handed_over" for part in PARTS["handed_over"][1]})

# (name, numerator, denominator, definition)
RATES = [
    ("answered rate", "answered", "questions", "answered from guidance \u00f7 questions"),
    ("declined rate", "declined", "questions", "declined \u00f7 questions"),
    ("clarification rate", "clarified", "questions", "clarification asked \u00f7 questions"),
    (
        "handover rate",
        "handed_over_conversations",
        "conversations",
        "conversations in which a case was opened in the period \u00f7 conversations",
    ),
    (
        "helpful rate",
        "feedback_helpful",
        "feedback",
        "\u201cyes, it helped\u201d \u00f7 all answers to \u201cDid this help?\u201d",
    ),
    (
        "feedback rate",
        "feedback",
        "answered",
        "answers to \u201cDid this help?\u201d \u00f7 questions answered from guidance",
    ),
    (
        "taken within 30 minutes",
        "taken_within_30m",
        "handed_over",
        "cases taken by an adviser less than 30 minutes after opening \u00f7 cases opened",
    ),
    (
        "resolved by an adviser",
        "outcome_answered",
        "closed_by_adviser",
        "closed with outcome \u201canswered\u201d \u00f7 cases closed by an adviser (not cancelled)",
    ),
    ("rated", "rated", "closed_by_adviser", "cases rated \u00f7 cases closed by an adviser"),
]
CASE_RATES = ("taken within 30 minutes", "resolved by an adviser", "rated")  # an adviser's own
WAIT_BANDS = [(5 * 60, "wait_under_5m"), (30 * 60, "wait_5_30m"), (4 * 3600, "wait_30m_4h")]


class Period:
    """Whole UTC days from ``since`` to ``until``, both included."""

    def __init__(self, since: dt.date, until: dt.date):
        if until < since:
            raise ValueError("the period ends before it starts")
        if (until - since).days > 366:
            raise ValueError("a period is at most a year")
        self.since, self.until = since, until
        self.start = dt.datetime.combine(since, dt.time(), dt.timezone.utc).timestamp()
        self.end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.timezone.utc).timestamp()

    @classmethod
    def last_days(cls, days: int = 30, today: Optional[dt.date] = None) -> "Period":
        today = today or dt.datetime.now(dt.timezone.utc).date()
        return cls(today - dt.timedelta(days=max(1, days) - 1), today)

    @property
    def days(self) -> List[str]:
        return [(self.since + dt.timedelta(days=i)).isoformat() for i in range((self.until - self.since).days + 1)]


# ---- SQL, per dialect ------------------------------------------------------------------------


def _day(dialect: str, column: str) -> str:
    """The day in the period (0 for the first) of a UNIX time at or after ``:start``."""
    if dialect == "postgresql":
        return f"CAST(FLOOR(({column} - :start) / 86400.0) AS INTEGER)"
    return f"CAST(({column} - :start) / 86400.0 AS INTEGER)"  # SQLite truncates: the floor, for times >= start


def _json(dialect: str, column: str, *path: str) -> str:
    if dialect == "postgresql":
        steps = "".join(f" -> '{p}'" for p in path[:-1]) + f" ->> '{path[-1]}'"
        return f"(CAST({column} AS json){steps})"
    return f"json_extract({column}, '$.{'.'.join(path)}')"


# Reading a month of Rasa's events and their JSON on every load took seconds (50,000 conversations
# are over a million events), so the dashboard keeps a digest of them beside them, in the same
# database: a row an event it counts (a question, a "Did this help?" answer, a reply from the guidance
# with its reason) and a row a message from a person, each with its time and its conversation's
# channel (that of the conversation's first message), and, for a message, the id of the
# conversation's first event in place of the conversation's id: nothing that identifies anyone.
# Each load adds the events written since the last (their JSON read once, in id order); when events
# were deleted (erasure, retention), their digest rows go too, so the figures are always those of
# the events stored.
DIGEST, MESSAGES, DIGEST_STATE = "insights_digest", "insights_messages", "insights_digest_state"
RESCAN_IDS = 1000  # PostgreSQL may commit a smaller id after a bigger one: the last ids are read again


def tracker_sql(dialect: str, table: str = "events") -> Dict[str, str]:
    reason = _json(dialect, "e.data", "metadata", "guidance", "reason")
    first = (
        f"SELECT {{}} FROM {table} AS u WHERE u.sender_id = e.sender_id AND u.type_name = 'user' "
        f"ORDER BY u.id LIMIT 1"
    )  # the conversation's first message (by the sender index)
    channel = "(" + first.format(_json(dialect, "u.data", "input_channel")) + ")"
    conversation = "(" + first.format("u.id") + ")"
    kind = (
        f"CASE WHEN e.type_name = 'action' THEN 'question' WHEN e.type_name = 'user' THEN e.intent_name "
        f"ELSE 'reason:' || {reason} END"
    )
    counted = (
        f"SELECT e.id, e.timestamp, {kind} AS kind, {channel} AS channel FROM {table} AS e WHERE e.id > :after AND ("
        f"(e.type_name = 'action' AND e.action_name = '{ANSWER_ACTION}') "
        f"OR (e.type_name = 'user' AND e.intent_name IN ('feedback_helpful', 'feedback_unhelpful')) "
        f"OR (e.type_name = 'bot' AND e.data LIKE '%\"reason\"%' AND {reason} IS NOT NULL))"
    )
    messages = (
        f"SELECT e.id, e.timestamp, {conversation} AS conversation, {channel} AS channel FROM {table} AS e "
        f"WHERE e.id > :after AND e.type_name = 'user'"
    )
    insert = "INSERT OR IGNORE INTO" if dialect != "postgresql" else "INSERT INTO"
    ignore = " ON CONFLICT DO NOTHING" if dialect == "postgresql" else ""
    return {
        # a conversation on the day of its first message in the period, on the channel of its first message
        "conversations": (
            f"SELECT {_day(dialect, 'first_at')} AS day, channel, COUNT(*) AS n FROM ("
            f"SELECT conversation, MIN(timestamp) AS first_at, MIN(channel) AS channel FROM {MESSAGES} "
            f"WHERE timestamp >= :start AND timestamp < :end GROUP BY conversation) AS c GROUP BY 1, 2"
        ),
        "digest": (
            f"SELECT {_day(dialect, 'timestamp')} AS day, channel, kind, COUNT(*) AS n FROM {DIGEST} "
            f"WHERE timestamp >= :start AND timestamp < :end GROUP BY 1, 2, 3"
        ),
        "make_digest": (
            f"CREATE TABLE IF NOT EXISTS {DIGEST} (id BIGINT PRIMARY KEY, timestamp DOUBLE PRECISION, "
            f"kind VARCHAR(80), channel VARCHAR(64))"
        ),
        "make_digest_index": f"CREATE INDEX IF NOT EXISTS {DIGEST}_time ON {DIGEST} (timestamp, kind, channel)",
        "make_messages": (
            f"CREATE TABLE IF NOT EXISTS {MESSAGES} (id BIGINT PRIMARY KEY, timestamp DOUBLE PRECISION, "
            f"conversation BIGINT, channel VARCHAR(64))"
        ),
        "make_messages_index": f"CREATE INDEX IF NOT EXISTS {MESSAGES}_time ON {MESSAGES} (timestamp, conversation, channel)",
        "make_state": (
            f"CREATE TABLE IF NOT EXISTS {DIGEST_STATE} (name VARCHAR(20) PRIMARY KEY, max_id BIGINT, events BIGINT)"
        ),
        "state": f"SELECT max_id, events FROM {DIGEST_STATE} WHERE name = 'events'",
        "size": f"SELECT COALESCE(MAX(id), 0), COUNT(*) FROM {table}",
        "added": f"SELECT COUNT(*) FROM {table} WHERE id > :after",
        "prune": f"DELETE FROM {DIGEST} WHERE NOT EXISTS (SELECT 1 FROM {table} AS e WHERE e.id = {DIGEST}.id)",
        "prune_messages": f"DELETE FROM {MESSAGES} WHERE NOT EXISTS (SELECT 1 FROM {table} AS e WHERE e.id = {MESSAGES}.id)",
        "fill": f"{insert} {DIGEST} (id, timestamp, kind, channel) {counted}{ignore}",
        "fill_messages": f"{insert} {MESSAGES} (id, timestamp, conversation, channel) {messages}{ignore}",
        # two loads at once: the later one's state wins (never a duplicate key)
        "save_state": (
            f"INSERT INTO {DIGEST_STATE} (name, max_id, events) VALUES ('events', :max_id, :events) "
            f"ON CONFLICT (name) DO UPDATE SET max_id = excluded.max_id, events = excluded.events"
        ),
    }


_indexed: set = set()


def ensure_index(db: sa.engine.Engine) -> None:
    """Make the digest's tables once (``IF NOT EXISTS``); Rasa's own table is not changed."""
    if db.url in _indexed:
        return
    sql = tracker_sql(db.dialect.name)
    with db.connect() as connection:
        if not sa.inspect(connection).has_table("events"):
            return
        for name in ("make_digest", "make_digest_index", "make_messages", "make_messages_index", "make_state"):
            connection.execute(sa.text(sql[name]))
        connection.commit()
    _indexed.add(db.url)


def update_digest(connection, sql: Dict[str, str]) -> Dict[str, int]:
    """Bring the digest up to the events stored now: drop the rows of events deleted since, add
    those written since. ``{"added", "pruned"}``."""
    state = connection.execute(sa.text(sql["state"])).first()
    max_id, events = connection.execute(sa.text(sql["size"])).first()
    pruned = 0
    if state is not None:
        old_max, old_events = state
        if max_id == old_max and events == old_events:
            return {"added": 0, "pruned": 0}
        added = connection.execute(sa.text(sql["added"]), {"after": old_max}).scalar()
        if events != old_events + added:  # some were deleted
            pruned = connection.execute(sa.text(sql["prune"])).rowcount
            connection.execute(sa.text(sql["prune_messages"]))
        after = max(0, old_max - RESCAN_IDS)
    else:
        after = 0
    filled = connection.execute(sa.text(sql["fill"]), {"after": after}).rowcount
    connection.execute(sa.text(sql["fill_messages"]), {"after": after})
    connection.execute(sa.text(sql["save_state"]), {"max_id": max_id, "events": events})
    connection.commit()
    return {"added": filled, "pruned": pruned}


def case_sql(dialect: str, adviser: bool) -> Dict[str, str]:
    mine = " AND adviser_id = :adviser_id" if adviser else ""
    wait = "claimed_at - created_at"
    band = (
        "CASE WHEN claimed_at IS NULL THEN 'never_taken' "
        + "".join(f"WHEN {wait} < {limit} THEN '{name}' " for limit, name in WAIT_BANDS)
        + "ELSE 'wait_over_4h' END"
    )
    where = f"created_at >= :start AND created_at < :end{mine}"
    return {
        "cases": (
            f"SELECT {_day(dialect, 'created_at')} AS day, channel, status, outcome, {band} AS band, rating, "
            f"COUNT(*) AS n FROM cases WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6"
        ),
        "conversations": f"SELECT COUNT(DISTINCT conversation_id) FROM cases WHERE {where}",
        "misses": (
            f"SELECT {_day(dialect, 'at')} AS day, channel, kind, COUNT(*) AS n FROM misses "
            f"WHERE at >= :start AND at < :end GROUP BY 1, 2, 3"
        ),
        "waits": f"SELECT {wait} FROM cases WHERE {where} AND claimed_at IS NOT NULL ORDER BY 1",
    }


# ---- computing ----------------------------------------------------------------------------

_engines: Dict[str, sa.engine.Engine] = {}


def engine(url: str) -> sa.engine.Engine:
    """One engine a URL, kept for the process (the dashboard reads them on every load)."""
    if url not in _engines:
        from bot.databases import engine_for

        _engines[url] = engine_for(url)
    return _engines[url]


def _blank() -> Dict[str, int]:
    return {k: 0 for k in KEYS}


def compute(
    period: Period,
    tracker_url: Optional[str],
    handoff_url: str,
    adviser_id: Optional[int] = None,
    adviser_name: str = "",
) -> Dict:
    """Every figure for ``period``; with ``adviser_id``, only that adviser's cases (and nothing from
    the conversations, which are the whole service's)."""
    started = time.perf_counter()
    days = period.days
    cells: Dict[Tuple[int, str], Dict[str, int]] = {}

    def cell(day, channel) -> Dict[str, int]:
        key = (int(day), channel or UNKNOWN_CHANNEL)
        if key not in cells:
            cells[key] = _blank()
        return cells[key]

    params = {"start": period.start, "end": period.end}
    if adviser_id is None and tracker_url:
        db = engine(tracker_url)
        sql = tracker_sql(db.dialect.name)
        ensure_index(db)
        with db.connect() as connection:
            if sa.inspect(connection).has_table("events"):
                update_digest(connection, sql)
                for day, channel, n in connection.execute(sa.text(sql["conversations"]), params):
                    cell(day, channel)["conversations"] += n
                counted = connection.execute(sa.text(sql["digest"]), params).all()
                for day, channel, kind, n in counted:
                    c = cell(day, channel)
                    if kind == "question":
                        c["questions"] += n
                    elif kind in FEEDBACK_INTENTS:
                        c[FEEDBACK_INTENTS[kind]] += n
                    elif kind and kind.startswith("reason:"):
                        c[REASONS.get(kind[len("reason:") :], OTHER_REASON)] += n
    db = engine(handoff_url)
    sql = case_sql(db.dialect.name, adviser_id is not None)
    case_params = dict(params, adviser_id=adviser_id)
    with db.connect() as connection:
        if adviser_id is None and sa.inspect(connection).has_table("misses"):
            for day, channel, kind, n in connection.execute(sa.text(sql["misses"]), case_params):
                c = cell(day, channel)
                if f"miss_{kind}" in c:
                    c[f"miss_{kind}"] += n
        for day, channel, status, outcome, band, rating, n in connection.execute(sa.text(sql["cases"]), case_params):
            c = cell(day, channel)
            c["handed_over"] += n
            if status == "closed":
                c[f"outcome_{outcome}" if f"outcome_{outcome}" in c else "outcome_answered"] += n
            else:
                c["still_waiting" if status == "waiting" else "still_open"] += n
            c[band] += n
            if rating in (1, 2, 3, 4, 5):
                c[f"rated_{rating}"] += n
        handed_over_conversations = connection.execute(sa.text(sql["conversations"]), case_params).scalar() or 0
        waits = [float(w) for (w,) in connection.execute(sa.text(sql["waits"]), case_params)]
    for c in cells.values():
        _fill_wholes(c)

    totals, by_day, by_channel = _blank(), {d: _blank() for d in days}, {}
    for (day, channel), c in cells.items():
        if not 0 <= day < len(days):
            continue
        for k in KEYS:
            totals[k] += c[k]
            by_day[days[day]][k] += c[k]
            by_channel.setdefault(channel, _blank())[k] += c[k]
    derived = dict(
        totals,
        handed_over_conversations=handed_over_conversations,
        taken_within_30m=totals["wait_under_5m"] + totals["wait_5_30m"],
        closed_by_adviser=sum(
            totals[k] for k in ("outcome_answered", "outcome_referred", "outcome_no_response", "outcome_out_of_scope")
        ),
    )
    keys = KEYS if adviser_id is None else CASE_KEYS
    rates = [
        {
            "name": name,
            "numerator": derived[num],
            "denominator": derived[den],
            "value": round(derived[num] / derived[den], 4) if derived[den] else None,
            "definition": definition,
            "numerator_figure": num,
            "denominator_figure": den,
        }
        for name, num, den, definition in RATES
        if adviser_id is None or name in CASE_RATES
    ]
    rated = [r for r in range(1, 6) for _ in range(totals[f"rated_{r}"])]
    return {
        "period": {
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "days": len(days),
            "time_zone": "UTC",
        },
        "scope": {"kind": "adviser", "adviser": adviser_name} if adviser_id is not None else {"kind": "service"},
        "figures": [
            {"key": k, "label": LABELS[k], "definition": DEFINITIONS[k], "part_of": PARENT.get(k)} for k in keys
        ],
        "totals": {k: totals[k] for k in keys},
        "handed_over_conversations": handed_over_conversations if adviser_id is None else None,
        "by_day": [{"day": d, **{k: by_day[d][k] for k in keys}} for d in days],
        "by_channel": [{"channel": ch, **{k: v[k] for k in keys}} for ch, v in sorted(by_channel.items())],
        "waits": {
            "taken": len(waits),
            "median_seconds": round(statistics.median(waits)) if waits else None,
            "p90_seconds": round(_percentile(waits, 0.9)) if waits else None,
            "definition": "time from a case opening to an adviser taking it, over the cases taken",
        },
        "ratings": {
            "rated": len(rated),
            "average": round(sum(rated) / len(rated), 2) if rated else None,
            "definition": "the mean of the 1\u20135 ratings given",
        },
        "rates": rates,
        "parts": {whole: splits for whole, splits in PARTS.items() if whole in keys},
        "seconds": round(time.perf_counter() - started, 3),
    }


def _fill_wholes(c: Dict[str, int]) -> None:
    """Wholes from their parts; ``other_no_reply``: the questions no reply with a reason accounts for."""
    c["answered"] = sum(c[k] for k in PARTS["answered"][0])
    c["declined"] = sum(c[k] for k in PARTS["declined"][0])
    replied = c["answered"] + c["clarified"] + c["declined"] + c["other_nothing_to_expand"] + c["other_unknown_reason"]
    c["other_no_reply"] = max(0, c["questions"] - replied)
    c["questions"] = replied + c["other_no_reply"]  # a reply logged without its run (never seen) still counts
    c["other"] = sum(c[k] for k in PARTS["other"][0])
    c["feedback"] = c["feedback_helpful"] + c["feedback_unhelpful"]
    c["misses"] = sum(c[k] for k in PARTS["misses"][0])
    c["rated"] = sum(c[f"rated_{r}"] for r in range(1, 6))


def _percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of sorted ``values``."""
    import math

    return values[max(0, math.ceil(share * len(values)) - 1)]


def check_parts(figures: Dict) -> List[str]:
    """Where a whole is not the sum of its parts (in the totals, any day, any channel); empty when all add up."""
    problems = []
    rows = (
        [("total", figures["totals"])]
        + [(r["day"], r) for r in figures["by_day"]]
        + [(r["channel"], r) for r in figures["by_channel"]]
    )
    for where, row in rows:
        for whole, splits in figures["parts"].items():
            for split in splits:
                if sum(row[p] for p in split) != row[whole]:
                    problems.append(f"{where}: {whole} {row[whole]} != {' + '.join(split)}")
    for k in (f["key"] for f in figures["figures"]):
        if (
            sum(r[k] for r in figures["by_day"]) != figures["totals"][k]
            or sum(r[k] for r in figures["by_channel"]) != figures["totals"][k]
        ):
            problems.append(f"{k}: the days or the channels do not add up to the total")
    return problems


# ---- out: CSV and the terminal -------------------------------------------------------------


def to_csv(figures: Dict) -> str:
    """One row a day, then one a channel, then the totals; a column a figure."""
    keys = [f["key"] for f in figures["figures"]]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["breakdown", "day or channel"] + keys)
    for row in figures["by_day"]:
        writer.writerow(["day", row["day"]] + [row[k] for k in keys])
    for row in figures["by_channel"]:
        writer.writerow(["channel", _csv_safe(row["channel"])] + [row[k] for k in keys])
    writer.writerow(
        ["total", f"{figures['period']['since']} to {figures['period']['until']}"]
        + [figures["totals"][k] for k in keys]
    )
    return out.getvalue()


def _csv_safe(text: str) -> str:
    return "'" + text if str(text)[:1] in ("=", "+", "-", "@", "\t", "\r") else str(text)


def depth(figures: Dict, key: str) -> int:
    parents = {f["key"]: f["part_of"] for f in figures["figures"]}
    level, at = 0, parents.get(key)
    while at:
        level, at = level + 1, parents.get(at)
    return level


def percent(value: Optional[float]) -> str:
    return "\u2013" if value is None else f"{100 * value:.1f}%"


def minutes(seconds: Optional[float]) -> str:
    if seconds is None:
        return "\u2013"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def to_text(figures: Dict) -> str:
    """The figures as the terminal shows them: every figure by channel, the rates with their
    definitions, then the main figures by day."""
    period, keys = figures["period"], [f["key"] for f in figures["figures"]]
    channels = [r["channel"] for r in figures["by_channel"]]
    scope = f"cases of {figures['scope']['adviser']}" if figures["scope"]["kind"] == "adviser" else "the whole service"
    lines = [f"Insights for {scope}, {period['since']} to {period['until']} ({period['days']} days, UTC)", ""]
    width = max(len("  " * depth(figures, k) + LABELS[k]) for k in keys) + 2
    lines.append(f"{'':<{width}}{'total':>9}" + "".join(f"{c[:12]:>13}" for c in channels))
    by_channel = {r["channel"]: r for r in figures["by_channel"]}
    for k in keys:
        label = "  " * depth(figures, k) + LABELS[k]
        lines.append(
            f"{label:<{width}}{figures['totals'][k]:>9}" + "".join(f"{by_channel[c][k]:>13}" for c in channels)
        )
    lines += ["", "Rates"]
    for r in figures["rates"]:
        lines.append(
            f"  {r['name']:<26}{percent(r['value']):>7}  ({r['numerator']} of {r['denominator']}: {r['definition']})"
        )
    w, ratings = figures["waits"], figures["ratings"]
    lines += [
        "",
        f"Wait for an adviser: median {minutes(w['median_seconds'])}, 90th percentile "
        f"{minutes(w['p90_seconds'])} over {w['taken']} cases taken ({w['definition']})",
        f"Ratings after a handoff: average {ratings['average'] if ratings['average'] is not None else '–'} "
        f"of 5 from {ratings['rated']} ratings",
    ]
    main = [k for k in ("conversations", "questions", "answered", "clarified", "declined", "handed_over") if k in keys]
    lines += ["", "By day", f"{'day':<12}" + "".join(f"{LABELS[k][:13]:>15}" for k in main)]
    for row in figures["by_day"]:
        lines.append(f"{row['day']:<12}" + "".join(f"{row[k]:>15}" for k in main))
    lines += ["", "Definitions"] + [f"  {LABELS[k]}: {DEFINITIONS[k]}" for k in keys]
    return "\n".join(lines)
