"""The project's web server (guidance pages, widget, console).

``create_app`` and ``render_markdown`` are loaded on first use (PEP 562): the console imports
``bot.web.rendering`` without loading the app that mounts it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "render_markdown"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import app

    value = getattr(app, name)
    globals()[name] = value
    return value
