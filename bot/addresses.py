"""Who is asking: the client's address of a request, read the same way by the public channels
(their per-address limits, ``bot/channels/_limits.py``) and the adviser console (its sign-in
throttling, ``bot/console/_routes.py``). Imports nothing, so neither side loads the other's
dependencies (the channels Rasa, the console aiohttp)."""

from __future__ import annotations

from typing import Mapping, Optional


def client_address(peer: Optional[str], headers: Mapping[str, str], trust_proxy: int = 0) -> str:
    """The client's address: the TCP peer, or, behind ``trust_proxy`` reverse proxies of our own,
    the address the outermost of them saw (from ``X-Forwarded-For``, counted from the right, since
    everything to the left of what our proxies appended is whatever the client claimed)."""
    if trust_proxy > 0:
        forwarded = headers.get("X-Forwarded-For") or headers.get("x-forwarded-for") or ""
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-trust_proxy] if len(hops) >= trust_proxy else hops[0]
    return peer or "unknown"
