"""Turns through the REST channel, one at a time or many at once (closed loop: each simulated
person sends the next message when the last reply came)."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Dict, List, Optional, Sequence

import numpy as np

WEBHOOK = "/webhooks/rest/webhook"
TURNS_PER_CONVERSATION = 8  # a simulated person starts a new conversation after this many turns
# the two ways the guidance action declines after searching: "not sure" (bot/guidance/_answer.py)
# and the signpost for a question beside the guidance (bot/guidance/_outside.py)
ABSTAIN_MARKS = ("I'm not sure", "outside what this guidance covers")


def kind_of_reply(replies) -> str:
    """``answer`` (a guidance passage with its source link), ``abstain`` (declined after searching:
    not sure, or signposted elsewhere) or ``plain``."""
    text = " ".join(str(r.get("text") or "") for r in replies if isinstance(r, dict))
    if "/guidance/" in text:
        return "answer"
    if any(mark in text for mark in ABSTAIN_MARKS):
        return "abstain"
    return "plain"


def percentiles(samples_ms: Sequence[float]) -> Dict[str, float]:
    if not len(samples_ms):
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    a = np.asarray(samples_ms, dtype=float)
    return {
        "n": int(a.size),
        "p50": round(float(np.percentile(a, 50)), 2),
        "p95": round(float(np.percentile(a, 95)), 2),
        "p99": round(float(np.percentile(a, 99)), 2),
        "mean": round(float(a.mean()), 2),
        "max": round(float(a.max()), 2),
    }


async def _one(session, url: str, sender: str, message: str, timeout: float):
    started = time.perf_counter()
    async with session.post(url, json={"sender": sender, "message": message}, timeout=timeout) as response:
        body = await response.json(content_type=None)
        status = response.status
    return (time.perf_counter() - started) * 1000, status, body


async def run_load(
    rasa_url: str,
    messages: Sequence[str],
    total: int,
    concurrency: int,
    timeout: float = 30.0,
    duration: Optional[float] = None,
    tag: str = "",
    turns_per_conversation: int = TURNS_PER_CONVERSATION,
) -> Dict:
    """``total`` messages (or as many as fit in ``duration`` seconds) from ``concurrency`` people at
    once, cycling through ``messages``; each person starts a new conversation every
    ``turns_per_conversation`` turns. Latencies in ms; errors counted, not raised."""
    import aiohttp

    url = rasa_url.rstrip("/") + WEBHOOK
    latencies: List[float] = []
    kinds: Dict[str, int] = {}
    errors: List[str] = []
    counter = itertools.count()
    run_id = uuid.uuid4().hex[:8]
    deadline = time.perf_counter() + duration if duration else None
    connector = aiohttp.TCPConnector(limit=concurrency + 4, force_close=False)

    async def person(n: int, session) -> None:
        turns = 0
        sender = f"bench-{tag}-{run_id}-{n}-0"
        while True:
            i = next(counter)
            if i >= total or (deadline and time.perf_counter() > deadline):
                return
            if turns and turns % turns_per_conversation == 0:
                sender = f"bench-{tag}-{run_id}-{n}-{turns}"
            turns += 1
            try:
                ms, status, body = await _one(session, url, sender, messages[i % len(messages)], timeout)
            except (asyncio.TimeoutError, aiohttp.ClientError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            if status != 200:
                errors.append(f"HTTP {status}: {str(body)[:150]}")
                continue
            latencies.append(ms)
            kind = kind_of_reply(body)
            kinds[kind] = kinds.get(kind, 0) + 1

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(person(n, session) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "turns_per_conversation": turns_per_conversation,
        "messages": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:3],
        "per_second": round(len(latencies) / elapsed, 2) if elapsed else 0.0,
        "replies": kinds,
        "latency_ms": percentiles(latencies),
        "samples_ms": [round(x, 2) for x in latencies],
    }


def load(rasa_url: str, messages: Sequence[str], total: int, concurrency: int, **kwargs) -> Dict:
    return asyncio.run(run_load(rasa_url, messages, total, concurrency, **kwargs))


ABSTAIN_CANDIDATES = [
    "How many moons does Jupiter have?",
    "What is the boiling point of liquid nitrogen?",
    "Which football team won the FA Cup in 1973?",
    "How do I fix a dripping kitchen tap?",
    "What is the capital of Mongolia?",
]


def pick_messages(rasa_url: str) -> Dict[str, str]:
    """The three kinds of turn, each checked against the running assistant: a greeting the domain
    answers, a question the guidance answers, and one it declines after searching."""
    plain, answer = "hello", "How do I register a co-operative?"
    chosen = {"plain": plain, "answer": answer, "abstain": None}
    for kind in ("plain", "answer"):
        check = load(rasa_url, [chosen[kind]], 1, 1, tag="check")
        if check["errors"] or not check["replies"].get(kind):
            raise RuntimeError(f"{chosen[kind]!r} did not get a {kind} reply: {check}")
    for candidate in ABSTAIN_CANDIDATES:
        result = load(rasa_url, [candidate], 1, 1, tag="check")
        if result["replies"].get("abstain"):
            chosen["abstain"] = candidate
            break
    if chosen["abstain"] is None:
        raise RuntimeError("none of the abstention questions went through the guidance action")
    return chosen
