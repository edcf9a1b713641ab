"""Many widget connections at once over socket.io, each doing what the widget does:
``session_request`` → ``session_confirm``, then ``user_uttered`` → ``bot_uttered``."""

from __future__ import annotations

import asyncio
import time
from typing import Dict, List

from ._load import percentiles


async def _widget(url: str, message: str, timeout: float) -> Dict:
    import socketio

    # polling: python-engineio's websocket client needs aiohttp 3.10+, Rasa 3.6 pins 3.9.5
    client = socketio.AsyncClient(reconnection=False)
    confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
    answered: asyncio.Future = asyncio.get_running_loop().create_future()
    dropped = {"value": False}
    done = {"value": False}

    @client.on("session_confirm")
    async def on_confirm(session_id):
        if not confirmed.done():
            confirmed.set_result(session_id)

    @client.on("bot_uttered")
    async def on_bot(data):
        if not answered.done():
            answered.set_result(data)

    @client.on("disconnect")
    async def on_disconnect():
        if not done["value"]:
            dropped["value"] = True

    out = {"ok": False, "dropped": False, "error": None, "connect_ms": None, "answer_ms": None}
    started = time.perf_counter()
    try:
        await asyncio.wait_for(client.connect(url, transports=["polling"], socketio_path="socket.io"), timeout)
        out["connect_ms"] = (time.perf_counter() - started) * 1000
        await client.emit("session_request", {})
        session_id = await asyncio.wait_for(confirmed, timeout)
        sent = time.perf_counter()
        await client.emit("user_uttered", {"session_id": session_id, "message": message})
        reply = await asyncio.wait_for(answered, timeout)
        out["answer_ms"] = (time.perf_counter() - sent) * 1000
        out["ok"] = bool(reply.get("text"))
    except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
        out["error"] = f"{type(exc).__name__}: {exc}"[:200]
    finally:
        out["dropped"] = dropped["value"]
        done["value"] = True
        try:
            await client.disconnect()
        except Exception:  # noqa: BLE001
            pass
    return out


async def run_widgets(rasa_url: str, connections: int, message: str, timeout: float = 60.0) -> Dict:
    started = time.perf_counter()
    results: List[Dict] = await asyncio.gather(*(_widget(rasa_url, message, timeout) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    answered = [r for r in results if r["ok"]]
    errors = [r["error"] for r in results if r["error"]]
    return {
        "connections": connections,
        "message": message,
        "seconds": round(elapsed, 3),
        "answered": len(answered),
        "dropped": sum(r["dropped"] for r in results),
        "failed": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "connect_ms": percentiles([r["connect_ms"] for r in results if r["connect_ms"] is not None]),
        "answer_ms": percentiles([r["answer_ms"] for r in answered]),
    }


def widgets(rasa_url: str, connections: int, message: str, timeout: float = 60.0) -> Dict:
    return asyncio.run(run_widgets(rasa_url, connections, message, timeout))
