"""Rasa input channels of our own, named in credentials.yml.

The channel classes are loaded on first use (PEP 562), so importing ``bot.channels`` or its
Rasa-free helpers (``_checks``, ``_limits``, ``_message_ids``, ``_handoff``, ``_erasure``) does not
load Rasa; Rasa finds a channel with ``importlib`` and ``getattr``, which loads it then.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CheckedRestInput", "RelayInput", "WidgetInput", "WidgetOutput", "bot_message"]


def __getattr__(name: str) -> Any:
    if name in ("CheckedRestInput", "RelayInput"):
        from . import rest as module
    elif name in ("WidgetInput", "WidgetOutput", "bot_message"):
        from . import socketio as module  # type: ignore[no-redef]
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value  # loaded once; a plain attribute from then on
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
