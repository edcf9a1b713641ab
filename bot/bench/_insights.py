"""How long the insights dashboard takes with a month of a busy service, on SQLite and PostgreSQL.

    .venv/bin/python -m bot.bench._insights [--conversations 50000] [--misses 10000] [--postgres]

Generates the stores as the running service would leave them: Rasa's ``events`` table (each
conversation a session start, one to four questions with the answer action, its reply from the
guidance carrying ``metadata.guidance``, the slots it sets, "Did this help?" answers), the handoff
store's cases (about one conversation in ten) and the miss store's misses, over 30 days. Then
times, each the median of ``--repeats`` runs after one warm-up (the first load, which builds the
dashboard's digest of the events, is shown apart): the figures alone
(``bot.insights._figures.compute``), the dashboard page as a supervisor loads it through the
console (sign-in cookie, HTML with every chart), its JSON and its CSV. Prints a table, and JSON
with ``--json``. ``--postgres`` loads the same rows into a throwaway PostgreSQL cluster (Debian's
package, as tests/support/servers.py starts it) and times it again. Target: the page in under 2 s.

The knowledge-gap page is timed on the same misses: each gets a vector (near one of 300 topic
centres, as real questions cluster; the real model's cost per question is timed on a sample and
shown apart, since the action server embeds misses as they come), then grouping them all
(``bot.insights._gaps.assign_groups``, target: within a minute) and the page as a supervisor
loads it (target: under 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import io
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import sqlalchemy as sa

from bot.databases import engine_for

TARGET_SECONDS = 2.0
GROUPING_TARGET_SECONDS = 60.0
TOPICS = 300  # the synthetic misses' topic centres
CHANNELS = (("socketio", 0.6), ("relay", 0.25), ("rest", 0.15))
REASONS = (
    ("answered", 0.55),
    ("answered_in_context", 0.10),
    ("more", 0.05),
    ("clarify", 0.05),
    ("not_confident", 0.13),
    ("outside_guidance", 0.03),
    ("personal_request", 0.02),
    ("no_words", 0.02),
    ("nothing_to_expand", 0.01),
    (None, 0.04),
)  # None: the second miss, passed straight to an adviser
OUTCOMES = (("answered", 0.6), ("referred", 0.15), ("no_response", 0.1), ("out_of_scope", 0.05), ("cancelled", 0.1))
SLOTS = ("adviser_offered", "misses", "guidance_slug", "guidance_context", "last_topic")
ROW = Tuple[str, str, float, object, object, str]


def say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _pick(rng: random.Random, weighted) -> object:
    x, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if x < total:
            return value
    return weighted[-1][0]


class Templates:
    """Real Rasa events (``as_dict``), made once; each generated row is a copy with its own times and text."""

    def __init__(self):
        from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

        ranking = [
            {"name": n, "confidence": c}
            for n, c in (
                ("ask_question", 0.91),
                ("nlu_fallback", 0.05),
                ("greet", 0.02),
                ("thank", 0.01),
                ("deny", 0.01),
            )
        ]
        self.user = UserUttered(
            "How do I register a co-operative society with the FCA?",
            {"name": "ask_question", "confidence": 0.91},
            [],
            parse_data={
                "intent": {"name": "ask_question", "confidence": 0.91},
                "entities": [],
                "intent_ranking": ranking,
                "text": "",
                "message_id": "m" * 32,
                "metadata": {},
            },
            input_channel="socketio",
            message_id="m" * 32,
        ).as_dict()
        self.action = ActionExecuted("action_answer_from_guidance", policy="RulePolicy", confidence=1.0).as_dict()
        self.listen = ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0).as_dict()
        body = (
            "A co-operative society registers with the Financial Conduct Authority under the Co-operative "
            "and Community Benefit Societies Act 2014. You need at least three members and rules "
        ) * 3
        self.bot = BotUttered(
            body + "\n\nSource: [Registering a co-operative](https://example.org/guidance/registering-a-co-op)",
            data={
                "elements": None,
                "quick_replies": None,
                "attachment": None,
                "image": None,
                "custom": None,
                "buttons": [
                    {"title": t, "payload": f"/choose_topic{{\"guidance_slug\": \"{s}\"}}"}
                    for t, s in (
                        ("Tell me more", "x"),
                        ("What does registration cost?", "fees"),
                        ("Can a co-op be a charity?", "charity"),
                        ("Model rules", "rules"),
                    )
                ],
            },
            metadata={
                "guidance": {
                    "answered": True,
                    "score": 0.71,
                    "threshold": 0.52,
                    "reason": "answered",
                    "section": "registering-a-co-op#how-to-register",
                    "sources": [
                        {
                            "slug": "registering-a-co-op",
                            "title": "Registering a co-operative",
                            "url": "https://example.org/guidance/registering-a-co-op",
                        }
                    ],
                }
            },
        ).as_dict()
        self.plain_bot = BotUttered("Glad that helped. Ask me anything else whenever you like.").as_dict()
        self.slots = {name: SlotSet(name, "value").as_dict() for name in SLOTS}
        self.session = [ActionExecuted("action_session_start").as_dict(), SessionStarted().as_dict(), self.listen]


def generate(
    conversations: int, misses: int, days: int, start: float, seed: int = 15
) -> Tuple[Iterator[ROW], List[dict], List[dict]]:
    """``(event rows, cases, misses)``: rows as the tracker store writes them
    (sender_id, type_name, timestamp, intent_name, action_name, data)."""
    rng = random.Random(seed)
    t = Templates()
    cases: List[dict] = []
    senders: List[Tuple[str, str, float]] = []

    def rows() -> Iterator[ROW]:
        for i in range(conversations):
            channel = _pick(rng, CHANNELS)
            sender = f"tg-{100000 + i}" if channel == "relay" else uuid.UUID(int=rng.getrandbits(128)).hex
            at = start + rng.random() * days * 86400
            senders.append((sender, channel, at))
            for event in t.session:
                yield from _row(sender, dict(event, timestamp=at))
                at += 0.01
            for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
                at += rng.uniform(5, 120)
                user = dict(t.user, timestamp=at, input_channel=channel, text=f"question {rng.getrandbits(40):x}")
                yield from _row(sender, user)
                reason = _pick(rng, REASONS)
                if reason is None:
                    yield from _row(
                        sender,
                        dict(
                            t.plain_bot,
                            timestamp=at + 0.1,
                            text="I couldn't answer that either, so let me pass your question to an adviser.",
                        ),
                    )
                    yield from _row(sender, dict(t.action, timestamp=at + 0.2))
                    continue
                guidance = dict(
                    t.bot["metadata"]["guidance"],
                    reason=reason,
                    answered=reason in ("answered", "answered_in_context", "more"),
                    score=round(rng.random(), 4),
                )
                yield from _row(sender, dict(t.bot, timestamp=at + 0.1, metadata={"guidance": guidance}))
                yield from _row(sender, dict(t.action, timestamp=at + 0.2))
                for name in SLOTS:
                    yield from _row(sender, dict(t.slots[name], timestamp=at + 0.21))
                yield from _row(sender, dict(t.listen, timestamp=at + 0.3))
                if guidance["answered"] and rng.random() < 0.3:
                    at += rng.uniform(3, 30)
                    intent = "feedback_helpful" if rng.random() < 0.75 else "feedback_unhelpful"
                    yield from _row(
                        sender,
                        dict(
                            t.user,
                            timestamp=at,
                            input_channel=channel,
                            text=f"/{intent}",
                            parse_data=dict(t.user["parse_data"], intent={"name": intent, "confidence": 1.0}),
                        ),
                    )
                    yield from _row(sender, dict(t.plain_bot, timestamp=at + 0.1))
                    yield from _row(sender, dict(t.listen, timestamp=at + 0.2))
            if rng.random() < 0.1:
                opened = at + 30
                claimed = opened + rng.expovariate(1 / 1200) if rng.random() < 0.85 else None
                outcome = _pick(rng, OUTCOMES) if claimed else ("cancelled" if rng.random() < 0.5 else None)
                closed = (claimed or opened) + rng.uniform(60, 3600) if outcome else None
                cases.append(
                    {
                        "conversation_id": sender,
                        "channel": channel,
                        "status": "closed" if closed else ("assigned" if claimed else "waiting"),
                        "question": "a question for an adviser",
                        "created_at": opened,
                        "updated_at": closed or claimed or opened,
                        "claimed_at": claimed,
                        "closed_at": closed,
                        "outcome": outcome,
                        "tags": "",
                        "person_name": "",
                        "email": "",
                        "topic": "",
                        "rating": rng.randint(1, 5) if closed and rng.random() < 0.4 else None,
                        "adviser_id": 1 if claimed else None,
                    }
                )

    def missed() -> List[dict]:
        kinds = ("declined", "low_confidence", "rephrased", "unhelpful", "handoff")
        out = []
        for _ in range(misses):
            sender, channel, at = senders[rng.randrange(len(senders))]
            out.append(
                {
                    "conversation_id": sender,
                    "channel": channel,
                    "kind": rng.choice(kinds),
                    "question": "a question the guidance missed",
                    "answer": "",
                    "source": "",
                    "reason": "",
                    "at": at + rng.uniform(1, 60),
                    "adviser_reply": "",
                    "nearest": "",
                }
            )
        return out

    return rows(), cases, missed


def _row(sender: str, event: dict) -> Iterator[ROW]:
    intent = (event.get("parse_data") or {}).get("intent", {}).get("name") if event["event"] == "user" else None
    yield (sender, event["event"], event["timestamp"], intent, event.get("name"), json.dumps(event))


# ---- loading -------------------------------------------------------------------------------


def load(tracker_url: str, handoff_url: str, conversations: int, misses: int, days: int, start: float) -> Dict:
    from rasa.core.tracker_store import SQLTrackerStore

    from bot.handoff import HandoffStore
    from bot.handoff._store import cases_table
    from bot.insights._misses import MissStore, misses_table

    began = time.perf_counter()
    events = SQLTrackerStore.SQLEvent.__table__
    tracker = engine_for(tracker_url, keep_connections=False)  # as erasure and retention reach it
    events.metadata.create_all(tracker, tables=[events])
    store = HandoffStore(handoff_url)
    store.add_adviser("Bench Adviser", f"bench-{uuid.uuid4().hex[:6]}@example.org", "adviser", "x")
    rows, cases, missed = generate(conversations, misses, days, start)
    count = _bulk(tracker, events, ("sender_id", "type_name", "timestamp", "intent_name", "action_name", "data"), rows)
    with store.engine.begin() as db:
        db.execute(cases_table.insert(), cases)
    miss_store = MissStore(engine=store.engine)
    with store.engine.begin() as db:
        db.execute(misses_table.insert(), missed())
    miss_store.dispose()
    for engine in (tracker, store.engine):
        with engine.begin() as db:
            db.execute(sa.text("ANALYZE"))
    tracker.dispose()
    store.dispose()
    return {"events": count, "cases": len(cases), "misses": misses, "seconds": round(time.perf_counter() - began, 1)}


def _bulk(engine: sa.engine.Engine, table: sa.Table, columns: Tuple[str, ...], rows: Iterator[ROW]) -> int:
    """Insert the rows in batches (PostgreSQL: COPY)."""
    count, batch = 0, []
    with engine.begin() as db:
        raw = db.connection.driver_connection if engine.dialect.name == "postgresql" else None
        for row in rows:
            batch.append(row)
            if len(batch) == 20000:
                count += _flush(db, raw, table, columns, batch)
                batch = []
        count += _flush(db, raw, table, columns, batch)
    return count


def _flush(db, raw, table, columns, batch) -> int:
    if not batch:
        return 0
    if raw is None:
        db.execute(table.insert(), [dict(zip(columns, r)) for r in batch])
        return len(batch)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for r in batch:
        writer.writerow(["\\N" if v is None else v for v in r])
    buffer.seek(0)
    with raw.cursor() as cursor:
        cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
    return len(batch)


# ---- timing ------------------------------------------------------------------------------


def time_dashboard(tracker_url: str, handoff_url: str, period, repeats: int, folder: Path) -> Dict:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.handoff import HandoffStore
    from bot.insights._figures import compute, check_parts
    from bot.settings import Settings
    from bot.web.app import create_app

    out: Dict = {}
    timings = []
    for _ in range(repeats + 1):
        began = time.perf_counter()
        figures = compute(period, tracker_url, handoff_url)
        timings.append(time.perf_counter() - began)
    out["figures_seconds"] = round(statistics.median(timings[1:]), 3)
    out["figures_first_seconds"] = round(timings[0], 3)
    out["parts_add_up"] = check_parts(figures) == []
    out["totals"] = {
        k: figures["totals"][k] for k in ("conversations", "questions", "answered", "declined", "handed_over", "misses")
    }
    store = HandoffStore(handoff_url)
    supervisor = store.add_adviser("Bench Supervisor", f"sup-{uuid.uuid4().hex[:6]}@example.org", "supervisor", "x")
    token = store.start_session(supervisor)[0]
    store.dispose()
    settings = Settings.from_env(env={}, var_dir=folder, tracker_store_url=tracker_url, handoff_store_url=handoff_url)
    query = f"since={period.since.isoformat()}&until={period.until.isoformat()}"

    async def pages() -> Dict:
        async with TestClient(TestServer(create_app(settings))) as client:
            found = {}
            for name, path in (
                ("page", "/console/insights"),
                ("json", "/console/api/insights"),
                ("csv", "/console/insights.csv"),
            ):
                runs = []
                for _ in range(repeats + 1):
                    began = time.perf_counter()
                    r = await client.get(f"{path}?{query}", headers={"Cookie": f"mutuals_console={token}"})
                    body = await r.read()
                    runs.append(time.perf_counter() - began)
                    assert r.status == 200, (path, r.status, body[:300])
                found[f"{name}_seconds"] = round(statistics.median(runs[1:]), 3)
                found[f"{name}_bytes"] = len(body)
            return found

    out.update(asyncio.run(pages()))
    out["under_target"] = out["page_seconds"] < TARGET_SECONDS
    return out


def time_gaps(handoff_url: str, folder: Path, embedding_sample: int = 0) -> Dict:
    """Vectors for every miss, then the grouping and the gap page (see the module's docstring)."""
    import numpy as np
    from aiohttp.test_utils import TestClient, TestServer

    from bot.handoff import HandoffStore
    from bot.insights._gaps import assign_groups
    from bot.insights._misses import MissStore
    from bot.settings import Settings
    from bot.stack import free_port
    from bot.web.app import create_app

    out: Dict = {}
    if embedding_sample:
        from bot.guidance import shared_embedder

        embedder = shared_embedder()
        questions = [f"can our mutual do thing number {i} for the council" for i in range(embedding_sample)]
        embedder.encode_one(questions[0])
        began = time.perf_counter()
        for q in questions:
            embedder.encode_one(q)
        out["embed_ms_per_question"] = round(1000 * (time.perf_counter() - began) / len(questions), 1)
    store = MissStore(url=handoff_url)
    rng = np.random.default_rng(15)
    centres = rng.normal(size=(TOPICS, 384)).astype(np.float32)
    ids = [m.id for m in store.misses()]
    rows = []
    for miss_id in ids:
        v = centres[rng.integers(TOPICS)] + 0.6 * rng.normal(size=384).astype(np.float32)
        rows.append((miss_id, v / np.linalg.norm(v), "about-this-assistant", float(rng.uniform(0.3, 1.0))))
    began = time.perf_counter()
    store.set_embeddings(rows)
    out["vectors_saved_seconds"] = round(time.perf_counter() - began, 2)
    began = time.perf_counter()
    out["grouped"] = assign_groups(store)
    out["grouping_seconds"] = round(time.perf_counter() - began, 2)
    store.dispose()
    handoffs = HandoffStore(handoff_url)
    supervisor = handoffs.add_adviser("Gap Supervisor", f"gap-{uuid.uuid4().hex[:6]}@example.org", "supervisor", "x")
    token = handoffs.start_session(supervisor)[0]
    handoffs.dispose()
    # nothing listens on the action port: every miss already has its vector, so the page only reads
    settings = Settings.from_env(env={}, var_dir=folder, handoff_store_url=handoff_url, actions_port=free_port())

    async def page() -> Dict:
        async with TestClient(TestServer(create_app(settings))) as client:
            runs = []
            for _ in range(4):
                began = time.perf_counter()
                r = await client.get("/console/gaps", headers={"Cookie": f"mutuals_console={token}"})
                body = await r.read()
                runs.append(time.perf_counter() - began)
                assert r.status == 200, (r.status, body[:300])
            return {"gap_page_seconds": round(statistics.median(runs[1:]), 3), "gap_page_bytes": len(body)}

    out.update(asyncio.run(page()))
    out["gaps_under_target"] = (
        out["gap_page_seconds"] < TARGET_SECONDS and out["grouping_seconds"] < GROUPING_TARGET_SECONDS
    )
    return out


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster, started the way tests/support/servers.py starts it."""
    from bot.settings import ROOT

    sys.path.insert(0, str(ROOT / "tests"))
    from servers import postgres_server

    with postgres_server() as url:
        yield url


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bot.bench._insights", description=__doc__.split("\n\n")[0])
    p.add_argument("--conversations", type=int, default=50000)
    p.add_argument("--misses", type=int, default=10000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL cluster")
    p.add_argument("--dir", help="where to keep the SQLite files (default: a temporary folder, removed)")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--embedding-sample",
        type=int,
        default=200,
        help="questions to embed with the real model, for its cost per miss (0: skip)",
    )
    args = p.parse_args(argv)

    from bot.insights._figures import Period

    today = dt.datetime.now(dt.timezone.utc).date()
    period = Period(today - dt.timedelta(days=args.days - 1), today)
    results: Dict = {
        "conversations": args.conversations,
        "misses": args.misses,
        "days": args.days,
        "target_seconds": TARGET_SECONDS,
    }
    with tempfile.TemporaryDirectory(prefix="mutuals-bench-insights-") as scratch:
        folder = Path(args.dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        say(f"generating {args.conversations:,} conversations and {args.misses:,} misses into SQLite ...")
        tracker_url, handoff_url = f"sqlite:///{folder / 'trackers.db'}", f"sqlite:///{folder / 'handoffs.db'}"
        results["sqlite"] = {
            "loaded": load(tracker_url, handoff_url, args.conversations, args.misses, args.days, period.start)
        }
        results["sqlite"]["tracker_mb"] = round((folder / "trackers.db").stat().st_size / 2**20)
        say(f"loaded {results['sqlite']['loaded']}; timing the dashboard ...")
        results["sqlite"].update(time_dashboard(tracker_url, handoff_url, period, args.repeats, folder))
        say("grouping the misses and timing the gap page ...")
        results["sqlite"].update(time_gaps(handoff_url, folder, embedding_sample=args.embedding_sample))
        if args.postgres:
            with postgres() as url:
                say("loading the same into PostgreSQL ...")
                results["postgresql"] = {
                    "loaded": load(url, url, args.conversations, args.misses, args.days, period.start)
                }
                say(f"loaded {results['postgresql']['loaded']}; timing the dashboard ...")
                results["postgresql"].update(time_dashboard(url, url, period, args.repeats, folder))
                say("grouping the misses and timing the gap page ...")
                results["postgresql"].update(time_gaps(url, folder))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(table(results))
    return (
        0
        if all(
            results[db]["under_target"] and results[db]["gaps_under_target"]
            for db in ("sqlite", "postgresql")
            if db in results
        )
        else 1
    )


def table(results: Dict) -> str:
    lines = [
        f"Insights dashboard, {results['conversations']:,} conversations and {results['misses']:,} misses "
        f"over {results['days']} days (target: the page in under {results['target_seconds']:.0f} s)",
        "",
    ]
    lines.append(
        f"{'database':<12}{'events':>11}{'cases':>8}{'first load':>12}{'figures':>10}{'page':>9}{'json':>9}"
        f"{'csv':>9}  target"
    )
    for db in ("sqlite", "postgresql"):
        if db in results:
            r = results[db]
            lines.append(
                f"{db:<12}{r['loaded']['events']:>11,}{r['loaded']['cases']:>8,}"
                f"{r['figures_first_seconds']:>11.2f}s{r['figures_seconds']:>9.2f}s"
                f"{r['page_seconds']:>8.2f}s{r['json_seconds']:>8.2f}s{r['csv_seconds']:>8.2f}s  "
                f"{'met' if r['under_target'] else 'MISSED'}"
            )
    for db in ("sqlite", "postgresql"):
        if db in results:
            lines.append(f"{db}: {results[db]['totals']}; parts add up: {results[db]['parts_add_up']}")
    lines += [
        "",
        f"Knowledge gaps, the same misses (targets: grouping within {GROUPING_TARGET_SECONDS:.0f} s, "
        f"the page in under {results['target_seconds']:.0f} s)",
        f"{'database':<12}{'groups':>8}{'grouping':>10}{'page':>9}  target",
    ]
    for db in ("sqlite", "postgresql"):
        if db in results and "grouping_seconds" in results[db]:
            r = results[db]
            groups = r["grouped"].get("new_groups", 0)
            lines.append(
                f"{db:<12}{groups:>8,}{r['grouping_seconds']:>9.2f}s{r['gap_page_seconds']:>8.2f}s  "
                f"{'met' if r['gaps_under_target'] else 'MISSED'}"
            )
    if results.get("sqlite", {}).get("embed_ms_per_question") is not None:
        ms = results["sqlite"]["embed_ms_per_question"]
        lines.append(
            f"embedding a miss with the real model: {ms} ms each (done by the action server as misses "
            f"come; {results['misses']:,} at once would take {ms * results['misses'] / 1000:.0f} s)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
