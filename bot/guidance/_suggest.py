"""Suggested guidance for an adviser: the sections that best answer what a person handed over
(their question, and what they wrote since), each with the sentences that answer it.

It runs where the guidance already is, in the action server (``POST /guidance/suggest``,
registered by bot/action_server.py beside the guidance search box's ``/guidance/search``): the
web server, where the console lives, asks it over HTTP and so loads neither a model nor an index.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from ._focus import focus, join_units

SUGGESTIONS = 4
PER_PAGE = 2
MAX_QUERIES = 3


def suggestions(desk, queries: Sequence[str], k: int = SUGGESTIONS, per_page: int = PER_PAGE) -> Dict[str, Any]:
    """The ``k`` sections (at most ``per_page`` of a page) that score best for any of ``queries``,
    by the assistant's own retrieval, and among them always each query's best section not already
    another's (a later message's is not crowded out by the question's), with that query's excerpt
    and score; best first, each with the focused excerpt for its query, its link and score, and
    whether that score reaches the assistant's answer threshold."""
    index = desk.index
    queries = [" ".join(str(q).split())[:500] for q in queries if str(q).strip()][:MAX_QUERIES]
    best: Dict[str, tuple] = {}
    tops: List[tuple] = []  # each query's best section that no earlier query has as its own
    for query in queries:
        vector = index.embedder.encode_one(query) if desk.mode != "bm25" else None
        hits = index.search(query, mode=desk.mode, k=k * 3, vector=vector)
        own = next((h for h in hits if all(t[3].id != h.passage.id for t in tops)), None)
        if own is not None:
            tops.append((own.score, query, vector, own.passage))
        for hit in hits:
            known = best.get(hit.passage.id)
            if known is None or hit.score > known[0]:
                best[hit.passage.id] = (hit.score, query, vector, hit.passage)
    ranked = sorted(best.values(), key=lambda item: -item[0])
    chosen: List[tuple] = []
    shown_per_page: Dict[str, int] = {}
    for item in tops + ranked:
        passage = item[3]
        if any(c[3].id == passage.id for c in chosen) or shown_per_page.get(passage.slug, 0) >= per_page:
            continue
        shown_per_page[passage.slug] = shown_per_page.get(passage.slug, 0) + 1
        chosen.append(item)
        if len(chosen) == k:
            break
    out: List[Dict[str, Any]] = []
    for score, query, vector, passage in sorted(chosen, key=lambda item: -item[0]):
        units = index.units[index.position[passage.id]]
        excerpt = desk._links(join_units(focus(units, index.unit_scores(passage, vector))))
        out.append(
            {
                "slug": passage.slug,
                "anchor": passage.anchor,
                "page_title": passage.page_title,
                "heading": passage.heading,
                "excerpt": excerpt,
                "url": desk.url(passage.slug, passage.anchor),
                "score": round(float(score), 4),
                "above_threshold": bool(score >= desk.threshold),
                "query": query,
            }
        )
    return {"queries": queries, "threshold": round(desk.threshold, 4), "mode": desk.mode, "suggestions": out}


def add_suggest_route(app, desk) -> None:
    """``POST /guidance/suggest {"queries": [...]}`` on the action server (a Sanic app)."""
    from sanic import response

    @app.post("/guidance/suggest")
    async def guidance_suggest(request):
        body = request.json if isinstance(request.json, dict) else {}
        queries = body.get("queries")
        if (
            not isinstance(queries, list)
            or not all(isinstance(q, str) for q in queries)
            or not any(q.strip() for q in queries)
        ):
            return response.json({"error": "send {\"queries\": [\"...\"]}"}, status=400)
        return response.json(suggestions(desk, queries))
