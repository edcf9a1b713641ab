"""Scale-out: two Rasa servers sharing PostgreSQL (trackers, handoff cases) and Redis (locks,
socket.io messages), two stateless action servers, nginx in front with sticky sessions for
socket.io. 200 conversations of 10 turns at once over REST and socket.io; one Rasa server is
killed half way (the one holding more of the widgets still talking) and the conversations carry
on through the other.

MUTUALS_SCALE_CONVERSATIONS and MUTUALS_SCALE_TURNS make it smaller for a quick look; the figures
are printed (pytest -s) and written to the test's temporary directory as scale-out.json."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time

import pytest
import sqlalchemy as sa

from tests.support.cluster_harness import running_cluster
from tests.support.load_clients import Cluster, RestPerson, SocketPerson, Stats

pytestmark = pytest.mark.slow

CONVERSATIONS = int(os.environ.get("MUTUALS_SCALE_CONVERSATIONS", "200"))
TURNS = int(os.environ.get("MUTUALS_SCALE_TURNS", "10"))
HANDOFFS = 6  # REST conversations that ask for a human and finish the intake
ADDRESSES = 40  # clients come from 127.0.1.1 … 127.0.40.1 (ip_hash looks at the first three octets)

GUIDANCE = "/guidance/"
# (text, replies expected, a check on their text); greetings, guidance questions and thanks
TALK = [
    ("hello", 1, lambda t: GUIDANCE not in t),
    ("What is a community benefit society?", 1, lambda t: "/guidance/community-benefit-society" in t),
    ("thanks", 1, lambda t: GUIDANCE not in t),
    ("what is an asset lock", 1, lambda t: "/guidance/asset-locks" in t),
    ("How do I register a co-operative?", 1, lambda t: GUIDANCE in t),
    ("thank you", 1, lambda t: GUIDANCE not in t),
    ("hi", 1, lambda t: GUIDANCE not in t),
    ("How do we keep our council pensions if we spin out?", 1, lambda t: GUIDANCE in t),
    ("What is TUPE?", 1, lambda t: GUIDANCE in t),
    ("thanks, that helps", 1, lambda t: GUIDANCE not in t),
]
# asking for a human: the intake, a case, then the assistant is silent and only logs the turns
HANDOFF = [
    ("hello", 1, lambda t: True),
    ("I want to talk to a human", 2, lambda t: "adviser" in t.lower()),
    ("Who owns the building after we spin out?", 1, lambda t: "name" in t.lower()),
    ("Sam Scale", 1, lambda t: "email" in t.lower()),
    ("skip", 1, lambda t: "in the queue" in t),
    ("thanks", 0, None),
    ("are you there?", 0, None),
    ("hello?", 0, None),
    ("what is an asset lock", 0, None),
    ("thank you", 0, None),
]


async def upstream_of(run, client_address: str):
    """The Rasa server ("rasa-1" …) nginx sends this address's socket.io requests to now."""
    import aiohttp

    ports = {str(port): name for port, name in zip(run.cluster.rasa_ports, run.rasa_names)}
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(client_address, 0)), timeout=aiohttp.ClientTimeout(total=20)
    ) as http:
        try:
            async with http.get(f"{run.public_url}/socket.io/", params={"EIO": "4", "transport": "polling"}) as r:
                upstream = r.headers.get("X-Upstream", "")
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return None
    return ports.get(upstream.rsplit(",", 1)[-1].strip().rsplit(":", 1)[-1])


def survivor(run, killed_at) -> str:
    return next(url for url, name in zip(run.rasa_urls, run.rasa_names) if name != killed_at.get("server"))


def address(i: int) -> str:
    return f"127.0.{i % ADDRESSES + 1}.1"


def check_replies(who: str, turn: int, script, replies) -> None:
    text, expected, check = script[turn]
    assert len(replies) == expected, f"{who} turn {turn} {text!r}: {len(replies)} replies, not {expected}: {replies}"
    if check:
        joined = "\n".join(r.get("text") or "" for r in replies)
        assert check(joined), f"{who} turn {turn} {text!r}: unexpected reply {joined!r}"


async def drive(run, kill_after_turns: int, results: dict) -> None:
    stats = Stats()
    cluster = Cluster(run.public_url, run.internal_url, run.settings.rasa_token, stats)
    conversations = []  # (kind, conversation id, script)
    done = asyncio.Event()
    killed_at = {}
    killing = []

    talking = set()  # addresses of the widgets in the middle of their conversation

    async def kill_the_busier_server():
        """SIGKILL (a crash, mid-turn for many conversations) the Rasa server holding more of the
        widgets still talking, so the test sees socket.io sessions lose their server."""
        held = {name: 0 for name in run.rasa_names}
        for where in await asyncio.gather(*(upstream_of(run, a) for a in set(talking))):
            if where:
                held[where] += 1
        victim = max(held, key=lambda name: (held[name], name == "rasa-1"))
        killed_at.update(server=victim, widgets_on_it=held[victim])
        await asyncio.to_thread(run.cluster.kill, victim)

    def count_turn():
        stats.turns += 1
        if stats.turns >= kill_after_turns and not killed_at:
            killed_at["turns"] = stats.turns
            killed_at["time"] = time.monotonic()
            killing.append(asyncio.ensure_future(kill_the_busier_server()))
            done.set()

    async def rest_conversation(i: int, script) -> None:
        sender = f"scale-rest-{i}"
        person = RestPerson(cluster, sender, address(i))
        conversations.append(("rest", sender, script))
        try:
            for turn, (text, _, _) in enumerate(script):
                replies = await person.say(turn, text)
                try:
                    check_replies(sender, turn, script, replies)
                except AssertionError as failure:  # say what the conversation holds, and when
                    cluster.api_url = survivor(run, killed_at)
                    events = (await cluster.tracker(sender))["events"]
                    kill = killed_at.get("time", 0) - started
                    held = [
                        (round(e["timestamp"] - started_wall, 1), e["event"], e.get("text") or e.get("name"))
                        for e in events
                        if e["event"] in ("user", "bot", "action")
                    ]
                    raise AssertionError(f"{failure}; killed at {kill:.1f} s; the conversation holds {held}") from None
                count_turn()
        finally:
            await person.close()

    async def socket_conversation(i: int, script) -> None:
        person = SocketPerson(cluster, address(i))
        await person.open()
        talking.add(address(i))
        conversations.append(("socketio", person.session_id, script))
        try:
            for turn, (text, expected, _) in enumerate(script):
                replies = await person.say(turn, text, expected)
                check_replies(person.session_id, turn, script, replies)
                count_turn()
            await asyncio.sleep(2)  # anything more (a duplicate) would arrive now
            assert len(person.received) == sum(e for _, e, _ in script), (
                f"{person.session_id}: {len(person.received)} messages for {len(script)} turns"
            )
        finally:
            talking.discard(address(i))
            await person.close()

    started, started_wall = time.monotonic(), time.time()
    talk = TALK[:TURNS]
    handoff = HANDOFF[: max(TURNS, 5)]
    jobs = []
    for i in range(CONVERSATIONS):
        if i < HANDOFFS:
            jobs.append(rest_conversation(i, handoff))
        elif i % 2:
            jobs.append(socket_conversation(i, talk))
        else:
            jobs.append(rest_conversation(i, talk))
    try:
        await asyncio.gather(*jobs)
        elapsed = time.monotonic() - started
        await asyncio.gather(*killing)

        # every tracker complete and in order, read from the Rasa server that is still up
        cluster.api_url = survivor(run, killed_at)
        for kind, conversation_id, script in conversations:
            events = (await cluster.tracker(conversation_id))["events"]
            said = [(e.get("text"), (e.get("metadata") or {}).get("turn")) for e in events if e["event"] == "user"]
            assert said == [(text, turn) for turn, (text, _, _) in enumerate(script)], (kind, conversation_id, said)
            bots = [e for e in events if e["event"] == "bot"]
            assert len(bots) == sum(expected for _, expected, _ in script), (kind, conversation_id, len(bots))
    finally:
        await cluster.close()

    latencies = sorted(stats.latencies)
    results.update(
        {
            "conversations": CONVERSATIONS,
            "turns_per_conversation": TURNS,
            "turns": stats.turns,
            "rest_conversations": sum(1 for c in conversations if c[0] == "rest"),
            "socketio_conversations": sum(1 for c in conversations if c[0] == "socketio"),
            "seconds": round(elapsed, 1),
            "turns_per_second": round(stats.turns / elapsed, 1),
            "latency_median_s": round(statistics.median(latencies), 2),
            "latency_p95_s": round(latencies[int(len(latencies) * 0.95) - 1], 2),
            "latency_max_s": round(latencies[-1], 2),
            "killed": killed_at.get("server"),
            "killed_after_turns": killed_at.get("turns"),
            "widgets_talking_on_it_then": killed_at.get("widgets_on_it"),
            "turns_the_client_saw_fail": stats.failures,
            "messages_sent_again_with_their_id": stats.sent_again,
            "socketio_reconnects": stats.reconnects,
            "socketio_connect_retries": stats.connect_retries,
            "socketio_connect_failures": stats.connect_failures,
        }
    )
    # the socket.io conversations on the server that died carried on through the other
    assert stats.reconnects > 0, "no socket.io conversation was on the Rasa server that was stopped"


async def push_through_each_server(run) -> None:
    """An adviser's message posted to either Rasa server's API reaches a widget whichever server
    holds its socket (the Redis message queue)."""
    import aiohttp

    stats = Stats()
    cluster = Cluster(run.public_url, run.internal_url, run.settings.rasa_token, stats)
    person = SocketPerson(cluster, "127.0.77.1")
    await person.connect()
    try:
        await person.say(0, "hello", 1)
        async with aiohttp.ClientSession() as http:
            for n, rasa in enumerate(run.rasa_urls):
                event = {
                    "event": "bot",
                    "text": f"pushed through Rasa server {n + 1}",
                    "data": {"custom": {"sender": {"kind": "adviser", "name": "Alex"}}},
                }
                async with http.post(
                    f"{rasa}/conversations/{person.session_id}/tracker/events",
                    params={
                        "token": run.settings.rasa_token,
                        "output_channel": "socketio",
                        "execute_side_effects": "true",
                    },
                    json=[event],
                ) as r:
                    assert r.status == 200, await r.text()
        deadline = time.monotonic() + 20
        want = {f"pushed through Rasa server {n + 1}" for n in range(len(run.rasa_urls))}
        while not want <= {m["text"] for m in person.received} and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        got = [m["text"] for m in person.received if m["text"].startswith("pushed")]
        assert sorted(got) == sorted(want), got  # each once, from both servers
        assert all(m["sender"] == {"kind": "adviser", "name": "Alex"} for m in person.received[1:])
    finally:
        await person.close()
        await cluster.close()


def test_two_rasa_servers_behind_nginx_carry_200_conversations_and_survive_losing_one(tmp_path):
    results = {}
    with running_cluster(tmp_path) as run:
        asyncio.run(asyncio.wait_for(push_through_each_server(run), 120))
        total = CONVERSATIONS * TURNS
        asyncio.run(asyncio.wait_for(drive(run, kill_after_turns=total // 2, results=results), 900))

        # handoffs created once each, in the PostgreSQL handoff store
        engine = sa.create_engine(run.database_url)
        with engine.connect() as db:
            rows = db.execute(sa.text("SELECT conversation_id, count(*) FROM cases GROUP BY conversation_id")).all()
        engine.dispose()
        cases = dict(rows)
        assert cases == {f"scale-rest-{i}": 1 for i in range(HANDOFFS)}, cases
        results["handoff_cases"] = len(cases)
        # REST messages that were in flight on the server that died: nginx sent them to the other
        # server, which answered those it found already done from the stored turn
        surviving = next(name for name in run.rasa_names if name != results["killed"])
        log = (tmp_path / "logs" / f"{surviving}.log").read_text(errors="replace")
        results["messages_answered_from_the_stored_turn"] = log.count("was not run twice")
        results["rest_requests_nginx_sent_to_the_other_server"] = sum(
            1
            for line in (run.nginx_dir / "error.log").read_text(errors="replace").splitlines()
            if "/webhooks/rest/" in line and "[error]" in line
        )
        # and the server really stopped
        assert run.cluster.part(results["killed"]).process.poll() is not None

    (tmp_path / "scale-out.json").write_text(json.dumps(results, indent=2))
    print("\nscale-out:", json.dumps(results, indent=2))
