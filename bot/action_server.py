"""The action server: the Rasa SDK endpoint serving ``actions/``, with the guidance loaded first.

``python -m bot.action_server [--port N] [--host H]``: loads the embedding model and the index
once, then answers every call from memory; listens on loopback unless told otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os

# numpy's OpenBLAS hands even the one small matrix-vector product of a search to a second thread,
# which then busy-waits (sched_yield) after every call: measured at ~40 ms of CPU per guidance
# answer, most of a core under load, taken from the Rasa server on a 2-core machine. One thread
# does that product in microseconds. Set before numpy is imported; limited again in main().
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def one_blas_thread() -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # numpy was imported after the variable above was set: one thread already
        return
    threadpool_limits(limits=int(os.environ.get("OPENBLAS_NUM_THREADS") or 1), user_api="blas")


def main(argv=None) -> None:
    from bot.settings import Settings

    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="mutuals-actions")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.actions_port)
    args = parser.parse_args(argv)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sanic").setLevel(logging.WARNING)
    from bot.privacy import install_log_redaction

    install_log_redaction()  # no email address, UK phone number or postcode in the logs (docs/privacy.md)

    from actions.actions import guidance_desk

    one_blas_thread()
    desk = guidance_desk()
    desk.answer("warm up")  # the first call pays for lazy set-up inside torch; pay it now
    logging.getLogger(__name__).info(
        "guidance loaded: %d pages, %d passages", len(desk.index.pages), len(desk.index.passages)
    )

    from rasa_sdk.endpoint import create_app

    app = create_app("actions", cors_origins=None)
    from actions.actions import use_desk
    from bot.guidance._reload import KnowledgeWatcher, LiveDesk

    # guidance changed on disk (an editor, or a phrasing approved on the gap page) is picked up
    # without a restart: rebuilt in a thread, then swapped in between turns (bot/guidance/_reload.py)
    KnowledgeWatcher(guidance_desk, use_desk, settings.knowledge_dir / "pages", settings.index_dir).start()
    desk = LiveDesk(guidance_desk)
    add_search(app, desk)
    from bot.guidance._suggest import add_suggest_route

    add_suggest_route(app, desk)  # the adviser console's suggested guidance, from the same desk
    from bot.insights._action_routes import add_insights_routes

    add_insights_routes(app, guidance_desk, settings.handoff_store)  # the gap page's grouping
    app.run(host=args.host, port=args.port, workers=1, access_log=False)


SEARCH_RESULTS = 8
SEARCH_PER_PAGE = 2


def search_results(desk, query: str) -> dict:
    """The guidance sections that match ``query`` best, by the assistant's own retrieval (the same
    index, embedder, mode and threshold as its answers): at most ``SEARCH_RESULTS``, two a page."""
    hits = desk.index.search(query, mode=desk.mode, k=SEARCH_RESULTS * 4)
    per_page: dict = {}
    results = []
    for hit in hits:
        x = hit.passage
        if per_page.get(x.slug, 0) >= SEARCH_PER_PAGE:
            continue
        per_page[x.slug] = per_page.get(x.slug, 0) + 1
        results.append(
            {
                "slug": x.slug,
                "anchor": x.anchor,
                "page_title": x.page_title,
                "heading": x.heading,
                "text": x.text[:400],
                "score": round(hit.score, 4),
            }
        )
        if len(results) == SEARCH_RESULTS:
            break
    return {"query": query, "threshold": round(desk.threshold, 4), "mode": desk.mode, "results": results}


def add_search(app, desk) -> None:
    """``GET /guidance/search?q=...``: :func:`search_results` as JSON, for the web server's search box
    (bot/web/app.py), which then needs neither the model nor the index of its own."""
    from sanic import response

    @app.get("/guidance/search")
    async def guidance_search(request):
        query = " ".join(str(request.args.get("q") or "").split())[:200]
        if not query:
            return response.json({"error": "ask with ?q=words"}, status=400)
        return response.json(search_results(desk, query))


if __name__ == "__main__":
    main()
